"""A second review stage: what the manager keeps, an owner of the entitlement confirms or revokes.

Alice (manager Bob) holds Developers (owner Carol); Carol holds Developers too and has no manager;
Dave is the fallback reviewer; Erin owns the campaign.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.models import Grant
from audit.models import AuditEvent
from inputs.refusals import NotAllowed, StaleState
from reviews import selectors, services
from reviews.models import Campaign, ReviewItem
from reviews.services import repeats
from tests.reviews.test_campaigns import holds


@pytest.fixture
def two_stage(cast, sandbox):
    def make(**fields):
        values = {
            "name": "Q4 two-stage",
            "owner": cast.erin,
            "fallback_reviewer": cast.dave,
            "second_stage": True,
            "due_at": timezone.now() + timedelta(days=14),
        }
        return services.launch(campaign_id=Campaign.objects.create(**(values | fields)).pk, actor=cast.erin)

    return make


@pytest.fixture
def held(cast, sandbox):
    holds(cast.alice, sandbox.developers)
    holds(cast.carol, sandbox.developers)


def line(campaign, person) -> ReviewItem:
    return ReviewItem.objects.select_related("reviewer", "second_reviewer", "first_decided_by").get(
        campaign=campaign, holder=person
    )


def test_each_line_names_its_owner_for_the_second_stage_at_launch(cast, held, two_stage):
    campaign = two_stage()

    alice = line(campaign, cast.alice)
    assert (alice.stage, alice.reviewer, alice.second_reviewer) == (1, cast.bob, cast.carol)
    assert alice.second_reviewer_reason == "Owner of the entitlement (second stage)"
    launched = AuditEvent.objects.get(action="campaign.launched")
    assert launched.after["scope"]["second_stage"] is True and launched.after["scope"]["reviewer_type"] == "manager"


def test_a_kept_line_goes_to_the_owner_who_sees_the_first_decision(cast, held, two_stage):
    campaign = two_stage()
    alice = line(campaign, cast.alice)

    services.decide(campaign_id=campaign.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep", comment="on call")

    alice = line(campaign, cast.alice)
    assert (alice.stage, alice.reviewer, alice.decision, alice.comment) == (2, cast.carol, "undecided", "")
    assert (alice.first_decision, alice.first_comment, alice.first_decided_by) == ("keep", "on call", cast.bob)
    assert alice.first_reviewer_reason == "Manager" and alice.first_decided_at is not None
    assert alice.reviewer_reason == "Owner of the entitlement (second stage)"
    event = AuditEvent.objects.get(action="review.keep")
    assert event.after["handed_to_second_stage"] == 1

    services.decide(
        campaign_id=campaign.pk, item_ids=[alice.pk], actor=cast.carol, decision="revoke", comment="not on my team"
    )

    alice = line(campaign, cast.alice)
    assert (alice.stage, alice.decision, alice.comment, alice.decided_by) == (2, "revoke", "not on my team", cast.carol)
    assert (alice.first_decision, alice.first_decided_by) == ("keep", cast.bob), "both decisions stay on the line"


def test_a_first_stage_revoke_ends_the_line_without_the_owner(cast, held, two_stage):
    campaign = two_stage()
    alice = line(campaign, cast.alice)

    services.decide(campaign_id=campaign.pk, item_ids=[alice.pk], actor=cast.bob, decision="revoke", comment="left")
    services.sign_off(campaign_id=campaign.pk, actor=cast.erin)

    alice = line(campaign, cast.alice)
    assert (alice.stage, alice.reviewer, alice.decision, alice.first_decision) == (1, cast.bob, "revoke", "")
    assert Grant.objects.get(user=cast.alice).desired == "absent"


def test_the_first_reviewer_can_no_longer_decide_a_line_handed_on(cast, held, two_stage):
    campaign = two_stage()
    alice = line(campaign, cast.alice)
    services.decide(campaign_id=campaign.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep")

    with pytest.raises(NotAllowed, match="not yours to review"):
        services.decide(campaign_id=campaign.pk, item_ids=[alice.pk], actor=cast.bob, decision="revoke", comment="x")


def test_nobody_reviews_their_own_access_in_the_second_stage(cast, sandbox, two_stage):
    """Carol owns Developers and holds it: Dave (the fallback) confirms what her reviewer keeps."""
    holds(cast.carol, sandbox.developers)
    cast.carol.manager = cast.bob
    cast.carol.save()

    carol = line(two_stage(), cast.carol)

    assert (carol.reviewer, carol.second_reviewer) == (cast.bob, cast.dave)
    assert carol.second_reviewer_reason == "Fallback reviewer: nobody else could review it (second stage)"


def test_another_owner_takes_the_second_stage_when_the_holder_owns_it(cast, sandbox, two_stage):
    sandbox.developers.owners.set([cast.carol, cast.erin])
    holds(cast.carol, sandbox.developers)
    cast.carol.manager = cast.bob
    cast.carol.save()

    assert line(two_stage(), cast.carol).second_reviewer == cast.erin


def test_the_database_refuses_a_second_stage_reviewer_who_holds_the_access(cast, held, two_stage):
    alice = line(two_stage(), cast.alice)

    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewItem.objects.filter(pk=alice.pk).update(second_reviewer=cast.alice)


def test_the_same_person_in_both_stages_makes_one_stage(cast, sandbox, two_stage):
    """Carol has no manager and Dave is the fallback, and nobody but Carol owns Developers: Dave reviews
    Carol's access in the first stage and would be the second too, so the line has one stage."""
    holds(cast.carol, sandbox.developers)
    campaign = two_stage()
    carol = line(campaign, cast.carol)
    assert (carol.reviewer, carol.second_reviewer) == (cast.dave, None)
    assert carol.second_reviewer_reason == "One stage: the second reviewer would be the first again"

    services.decide(campaign_id=campaign.pk, item_ids=[carol.pk], actor=cast.dave, decision="keep")

    carol = line(campaign, cast.carol)
    assert (carol.stage, carol.decision, carol.decided_by) == (1, "keep", cast.dave)


def test_sign_off_applies_the_undecided_rule_in_either_stage(cast, sandbox, held, two_stage):
    breakglass = holds(cast.alice, sandbox.breakglass)
    campaign = two_stage(undecided="revoke")
    kept = ReviewItem.objects.get(campaign=campaign, grant=breakglass)
    services.decide(campaign_id=campaign.pk, item_ids=[kept.pk], actor=cast.bob, decision="keep")

    services.sign_off(campaign_id=campaign.pk, actor=cast.erin)

    lines = ReviewItem.objects.filter(campaign=campaign)
    assert set(lines.values_list("stage", "decision", "automatic")) == {(2, "revoke", True), (1, "revoke", True)}
    kept.refresh_from_db()
    assert (kept.first_decision, kept.first_decided_by) == ("keep", cast.bob), "the manager's keep stays recorded"


def test_escalated_first_stage_lines_are_the_campaign_owners_to_finish(cast, held, two_stage):
    campaign = two_stage(undecided="escalate")
    alice = line(campaign, cast.alice)

    with pytest.raises(StaleState, match="escalated to you"):
        services.sign_off(campaign_id=campaign.pk, actor=cast.erin)
    services.decide(campaign_id=campaign.pk, item_ids=[alice.pk], actor=cast.erin, decision="keep")

    alice = line(campaign, cast.alice)
    assert (alice.stage, alice.decision, alice.reviewer, alice.second_reviewer) == (1, "keep", cast.erin, None)


def test_progress_counts_both_stages(cast, sandbox, held, two_stage):
    holds(cast.alice, sandbox.breakglass)
    campaign = two_stage()
    developers = ReviewItem.objects.get(campaign=campaign, holder=cast.alice, entitlement=sandbox.developers)
    services.decide(campaign_id=campaign.pk, item_ids=[developers.pk], actor=cast.bob, decision="keep")

    assert selectors.progress(campaign) == {
        "total": 3,
        "decided": 0,
        "waiting_first": 2,
        "waiting_second": 1,
        "handed_on": 1,
        "unmanaged": 0,
    }
    bobs = selectors.campaigns_of_reviewer(cast.bob).get()
    assert (bobs.mine, bobs.mine_decided) == (2, 1), "the line he kept counts as his, decided"
    carols = selectors.campaigns_of_reviewer(cast.carol).get()
    assert (carols.mine, carols.mine_decided) == (1, 0)
    by_reviewer = {(row["reviewer__full_name"], row["stage"]): row for row in selectors.progress_by_reviewer(campaign)}
    assert (by_reviewer[("Bob Manager", 1)]["total"], by_reviewer[("Bob Manager", 1)]["decided"]) == (2, 1)
    assert (by_reviewer[("Carol Owner", 2)]["total"], by_reviewer[("Carol Owner", 2)]["decided"]) == (1, 0)


def test_accepting_recommendations_hands_kept_lines_on(cast, sandbox, two_stage):
    holds(cast.alice, sandbox.developers)
    Grant.objects.filter(user=cast.alice).update(expires_at=timezone.now() + timedelta(days=3))
    campaign = two_stage()
    alice = line(campaign, cast.alice)
    assert alice.recommendation == "keep"

    assert services.accept_recommendations(campaign_id=campaign.pk, item_ids=[alice.pk], actor=cast.bob) == 1

    alice = line(campaign, cast.alice)
    assert (alice.stage, alice.reviewer, alice.first_decision) == (2, cast.carol, "keep")
    assert alice.first_comment == "Recommendation accepted: Ends within 14 days anyway"
    assert alice.first_recommendation == "keep"


def test_an_owner_campaign_cannot_have_a_second_stage(cast):
    draft = Campaign(
        name="x", owner=cast.erin, reviewer_type="owner", second_stage=True, due_at=timezone.now() + timedelta(days=1)
    )

    with pytest.raises(ValidationError, match="The second stage is the owner's"):
        draft.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        draft.save()


def test_a_bulk_keep_of_10000_two_stage_lines_is_two_statements(cast, sandbox, django_user_model, two_stage):
    people = django_user_model.objects.bulk_create(
        django_user_model(email=f"s{n}@example.com", full_name=f"S {n}", manager=cast.bob) for n in range(10_000)
    )
    Grant.objects.bulk_create(
        Grant(user=person, entitlement=sandbox.developers, source=Grant.Source.IMPORT) for person in people
    )
    campaign = two_stage()
    ids = list(campaign.items.values_list("pk", flat=True))

    with CaptureQueriesContext(connection) as queries:
        assert services.decide(campaign_id=campaign.pk, item_ids=ids, actor=cast.bob, decision="keep") == 10_000

    updates = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "reviews_reviewitem"')]
    # Six of them keep the progress counters (reviews.progress_counters.moving), whatever the count.
    assert len(updates) == 2 and len(queries) <= 17
    assert campaign.items.filter(stage=2, reviewer=cast.carol, first_decided_by=cast.bob).count() == 10_000


def test_a_repeating_template_keeps_its_second_stage(cast, sandbox):
    template = Campaign.objects.create(
        name="Quarterly",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        second_stage=True,
        repeat_months=3,
        next_run_at=timezone.now() - timedelta(minutes=1),
        due_at=timezone.now(),
    )

    run = repeats.copy_template(template, timezone.now())

    assert (run.template, run.second_stage) == (template, True)


def test_the_admin_offers_the_second_stage_until_launch(cast, held, client_for):
    draft = Campaign.objects.create(
        name="Draft", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    admin = client_for(cast.erin)
    url = f"/admin/reviews/campaign/{draft.pk}/change/"

    assert 'name="second_stage"' in admin.get(url).content.decode()
    services.launch(campaign_id=draft.pk, actor=cast.erin)
    assert 'name="second_stage"' not in admin.get(url).content.decode(), "fixed once the snapshot is taken"
