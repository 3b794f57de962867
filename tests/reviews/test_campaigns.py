"""Review campaigns: the snapshot, who reviews what (never their own), decisions, sign-off and remediation."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from inputs.refusals import InvalidInput, NotAllowed, StaleState
from reviews import services
from reviews.models import Campaign, ReviewItem
from tests.conftest import tasks_queued


def holds(person, entitlement):
    return Grant.objects.create(
        user=person,
        entitlement=entitlement,
        source=Grant.Source.ADMIN,
        granted_at=timezone.now(),
        sync_state=Grant.SyncState.APPLIED,
    )


@pytest.fixture
def campaign(cast, sandbox):
    def make(**fields):
        values = {"name": "Q4 review", "owner": cast.erin, "due_at": timezone.now() + timedelta(days=14)}
        return Campaign.objects.create(**(values | fields))

    return make


@pytest.fixture
def holdings(cast, sandbox):
    """Alice (manager Bob) and Carol (no manager) hold Developers; Erin (the owner) holds Break-glass."""
    return [
        holds(cast.alice, sandbox.developers),
        holds(cast.carol, sandbox.developers),
        holds(cast.erin, sandbox.breakglass),
    ]


def items_by_holder(campaign):
    return {item.holder.email: item for item in campaign.items.select_related("holder", "reviewer")}


def test_launch_snapshots_every_holding_with_its_reviewer(cast, campaign, holdings):
    launched = services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin)

    items = items_by_holder(launched)
    assert (items["alice@example.com"].reviewer, items["alice@example.com"].reviewer_reason) == (cast.bob, "Manager")
    assert (items["carol@example.com"].reviewer, items["carol@example.com"].reviewer_reason) == (
        cast.dave,
        "Fallback reviewer: nobody else could review it",
    )
    assert items["erin@example.com"].reviewer == cast.dave
    assert (launched.state, launched.population_count, len(launched.population_hash)) == ("active", 3, 64)
    event = AuditEvent.objects.get(action="campaign.launched")
    assert event.after["items"] == 3 and event.after["population_sha256"] == launched.population_hash


def test_nobody_reviews_their_own_access(cast, campaign, holdings):
    """Dave is the fallback and holds access with no manager: his item goes to the campaign owner."""
    holds(cast.dave, Entitlement.objects.get(aws_name="Developers"))

    launched = services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin)

    dave = items_by_holder(launched)["dave@example.com"]
    assert (dave.reviewer, dave.reviewer_reason) == (
        cast.erin,
        "Campaign owner: the fallback reviewer holds this access",
    )
    assert not ReviewItem.objects.filter(reviewer_id=F("holder_id")).exists()


def test_an_owner_campaign_never_sends_an_owner_their_own_access(cast, sandbox, campaign):
    sandbox.developers.owners.set([cast.carol, cast.dave])
    holds(cast.carol, sandbox.developers)

    launched = services.launch(
        campaign_id=campaign(reviewer_type="owner", fallback_reviewer=cast.bob).pk, actor=cast.erin
    )

    assert items_by_holder(launched)["carol@example.com"].reviewer == cast.dave


def test_scope_limits_the_population(cast, sandbox, campaign, holdings):
    scoped = campaign(risks=["high"], fallback_reviewer=cast.dave)

    launched = services.launch(campaign_id=scoped.pk, actor=cast.erin)

    assert list(launched.items.values_list("entitlement__aws_name", flat=True)) == ["BreakGlass"]


def test_only_the_owner_launches_and_only_once(cast, campaign, holdings):
    draft = campaign(fallback_reviewer=cast.dave)
    with pytest.raises(NotAllowed):
        services.launch(campaign_id=draft.pk, actor=cast.bob)
    services.launch(campaign_id=draft.pk, actor=cast.erin)
    with pytest.raises(StaleState, match="already active"):
        services.launch(campaign_id=draft.pk, actor=cast.erin)
    assert ReviewItem.objects.count() == 3


def test_decisions_keep_or_revoke_with_a_comment_and_can_change_until_sign_off(cast, campaign, holdings):
    launched = services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin)
    alice = items_by_holder(launched)["alice@example.com"]

    with pytest.raises(InvalidInput, match="Say why the access should be revoked"):
        services.decide(campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.bob, decision="revoke")
    with pytest.raises(NotAllowed, match="not yours to review"):
        services.decide(campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.dave, decision="keep")
    services.decide(campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep")
    services.decide(
        campaign_id=launched.pk,
        item_ids=[alice.pk],
        actor=cast.bob,
        decision="revoke",
        comment="moved to the data team",
    )

    alice.refresh_from_db()
    assert (alice.decision, alice.comment, alice.decided_by) == ("revoke", "moved to the data team", cast.bob)


def test_a_bulk_decision_on_10000_items_is_one_statement(cast, sandbox, campaign, django_user_model):
    people = django_user_model.objects.bulk_create(
        django_user_model(email=f"p{n}@example.com", full_name=f"P {n}", manager=cast.bob) for n in range(10_000)
    )
    Grant.objects.bulk_create(
        Grant(user=person, entitlement=sandbox.developers, source=Grant.Source.IMPORT) for person in people
    )
    launched = services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin)
    ids = list(launched.items.values_list("pk", flat=True))

    with CaptureQueriesContext(connection) as queries:
        assert services.decide(campaign_id=launched.pk, item_ids=ids, actor=cast.bob, decision="keep") == 10_000

    updates = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "reviews_reviewitem"')]
    # Seven more keep the campaign's progress counters: the selection grouped before and after (two
    # queries each), one upsert of the counters that moved, one of the stage totals and one of the
    # decisions of the day.
    assert len(updates) == 1 and len(queries) <= 17


def test_reassigning_needs_a_reason_and_never_goes_to_the_holder(cast, campaign, holdings):
    launched = services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin)
    alice = items_by_holder(launched)["alice@example.com"]

    with pytest.raises(InvalidInput, match="their own access"):
        services.reassign(item_id=alice.pk, actor=cast.bob, to=cast.alice, reason="she knows best")
    item = services.reassign(item_id=alice.pk, actor=cast.bob, to=cast.carol, reason="Carol runs that team now")

    assert (item.reviewer, item.reviewer_reason) == (cast.carol, "Reassigned by Bob Manager: Carol runs that team now")


@pytest.mark.parametrize(("rule", "outcome"), [("keep", "keep"), ("revoke", "revoke")])
def test_undecided_items_follow_the_campaign_rule_at_sign_off(cast, campaign, holdings, rule, outcome):
    launched = services.launch(campaign_id=campaign(fallback_reviewer=cast.dave, undecided=rule).pk, actor=cast.erin)

    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    items = ReviewItem.objects.filter(campaign=launched)
    assert set(items.values_list("decision", "automatic")) == {(outcome, True)}
    assert Campaign.objects.get(pk=launched.pk).state == "closed"
    present = Grant.objects.filter(desired="present").count()
    assert present == (3 if outcome == "keep" else 0)


def test_escalate_rule_hands_undecided_items_to_the_owner(cast, campaign, holdings):
    launched = services.launch(
        campaign_id=campaign(fallback_reviewer=cast.dave, undecided="escalate").pk, actor=cast.erin
    )

    with pytest.raises(StaleState, match="escalated to you"):
        services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    assert ReviewItem.objects.filter(reviewer=cast.erin).count() == 2, "all but Erin's own access"


def test_the_sign_off_itself_queues_the_notice_to_those_whose_access_was_revoked(cast, campaign, holdings):
    """Queued in the sign-off's own transaction by the service, whoever calls it (the page did it after)."""
    launched = services.launch(
        campaign_id=campaign(fallback_reviewer=cast.dave, undecided="revoke").pk, actor=cast.erin
    )

    with tasks_queued() as queued:
        services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    assert [args for name, args in queued if name == "reviews.tell_revoked_holders"] == [[launched.pk]]


def test_revocations_flow_through_the_ledger_and_show_their_remediation(cast, campaign, holdings):
    launched = services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin)
    alice = items_by_holder(launched)["alice@example.com"]
    services.decide(
        campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.bob, decision="revoke", comment="left the project"
    )

    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    alice.refresh_from_db()
    grant = Grant.objects.get(pk=alice.grant_id)
    assert (grant.desired, grant.end_reason) == ("absent", "Access review: Q4 review")
    assert alice.remediation == "pending"
    Grant.objects.filter(pk=grant.pk).update(sync_state=Grant.SyncState.REVOKED)
    assert services.refresh_remediation(launched.pk) == 1
    alice.refresh_from_db()
    assert alice.remediation == "done"
    with pytest.raises(StaleState):
        services.decide(campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep")


def test_the_population_hash_is_the_same_computed_anywhere(cast, campaign, holdings):
    import hashlib

    launched = services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin)

    lines = "".join(
        f"{h}:{e}\n"
        for h, e in launched.items.order_by("holder_id", "entitlement_id").values_list("holder_id", "entitlement_id")
    )
    assert launched.population_hash == hashlib.sha256(lines.encode()).hexdigest()


def test_each_line_carries_a_recommendation_with_its_reason(cast, sandbox, campaign, holdings):
    cast.carol.employment_status = cast.carol.EmploymentStatus.LEAVER
    cast.carol.save()
    Grant.objects.filter(user=cast.alice).update(source=Grant.Source.IMPORT)
    Grant.objects.filter(user=cast.erin).update(expires_at=timezone.now() + timedelta(days=3))

    items = items_by_holder(services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin))

    assert (items["carol@example.com"].recommendation, items["carol@example.com"].recommendation_reason) == (
        "revoke",
        "The holder has left",
    )
    assert (items["alice@example.com"].recommendation, items["alice@example.com"].recommendation_reason) == (
        "undecided",
        "Found in AWS and adopted: never requested",
    )
    assert (items["erin@example.com"].recommendation, items["erin@example.com"].recommendation_reason) == (
        "keep",
        "Ends within 14 days anyway",
    )


def test_unused_credentials_found_by_the_posture_scan_recommend_revoking(cast, sandbox, campaign, holdings):
    from posture.models import PostureFinding

    PostureFinding.objects.create(
        account=sandbox.account, control_id="2.11", principal="alice:access_key_1", severity="medium", person=cast.alice
    )

    items = items_by_holder(services.launch(campaign_id=campaign(fallback_reviewer=cast.dave).pk, actor=cast.erin))

    assert (items["alice@example.com"].recommendation, items["alice@example.com"].recommendation_reason) == (
        "revoke",
        "The holder's credentials here are unused (CIS 2.11 finding)",
    )


def test_a_quarterly_template_repeats_as_a_new_campaign(cast, sandbox, campaign, holdings):
    from reviews.services import repeats

    template = campaign(
        fallback_reviewer=cast.dave, repeat_months=3, risks=["high"], next_run_at=timezone.now() - timedelta(minutes=1)
    )

    runs = [repeats.copy_template(t, timezone.now()) for t in repeats.due_templates()]

    assert [run.template for run in runs] == [template]
    assert (runs[0].risks, runs[0].state, runs[0].fallback_reviewer) == (["high"], "draft", cast.dave)
    template.refresh_from_db()
    assert template.next_run_at > timezone.now() + timedelta(days=80)
    assert list(repeats.due_templates()) == []


@pytest.mark.django_db(transaction=True)
def test_launch_reads_aws_afresh_first(cast, sandbox, campaign, holdings, aws, moto_server):
    from iam.models import ReconcileRun
    from reviews.tasks import launch_fresh

    draft = campaign(fallback_reviewer=cast.dave)
    draft.accounts.set([sandbox.account])

    assert launch_fresh(draft.pk, cast.erin.pk) == 3

    run = ReconcileRun.objects.get(account=sandbox.account)
    assert run.finished_at <= Campaign.objects.get(pk=draft.pk).snapshot_at


def test_reviewers_with_undecided_lines_are_reminded_near_the_due_date_once_a_day(cast, campaign, holdings):
    from notifications.models import Notification
    from reviews.reminders import remind_reviewers

    soon = campaign(fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=2))
    launched = services.launch(campaign_id=soon.pk, actor=cast.erin)
    services.decide(
        campaign_id=launched.pk,
        item_ids=[items_by_holder(launched)["alice@example.com"].pk],
        actor=cast.bob,
        decision="keep",
    )

    assert remind_reviewers() == 1, "Dave has two undecided lines; Bob decided his"
    assert remind_reviewers() == 0, "not twice a day"
    told = Notification.objects.get(recipient=cast.dave)
    assert told.title.startswith("Review due") and "2 lines of 'Q4 review'" in told.body
