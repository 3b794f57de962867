"""Campaign progress counters (per reviewer and per stage) and decisions per day: kept with every decision,
always equal to a full recount of the lines.

Engineers report to Bob or Dave and hold Developers (owner Carol); Erin owns the campaigns, which
have a second stage, so Bob's and Dave's keeps move on to Carol. The recount below reads every line
in Python, independently of `reviews.progress_counters`.
"""

import threading
from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from accounts.services import PersonRecord, upsert_person
from inputs.refusals import Refusal
from reviews import selectors, services
from reviews.models import Campaign, CampaignDecisionDay, CampaignReviewerProgress, CampaignStageProgress, ReviewItem
from reviews.reminders import escalate_reviewers, remind_reviewers

ROUNDS = 5
PER_MANAGER = 6


def recounted(campaign) -> dict:
    """(reviewer, stage) → [total, decided, revoked, unmanaged, handed_on], from the lines themselves."""
    counts = defaultdict(lambda: [0, 0, 0, 0, 0])
    for line in ReviewItem.objects.filter(campaign=campaign):
        row = counts[(line.reviewer_id, line.stage)]
        row[0] += 1
        row[1] += line.decision != ReviewItem.Decision.UNDECIDED
        row[2] += line.decision == ReviewItem.Decision.REVOKE
        row[3] += line.origin == ReviewItem.Origin.UNMANAGED
        if line.first_decided_by_id:
            counts[(line.first_decided_by_id, ReviewItem.Stage.FIRST)][4] += 1
    return dict(counts)


def recounted_days(campaign) -> dict:
    """day → [kept, revoked] of the lines decided by hand, from the lines themselves."""
    counts = defaultdict(lambda: [0, 0])
    for line in ReviewItem.objects.filter(campaign=campaign, decided_at__isnull=False, automatic=False):
        row = counts[timezone.localtime(line.decided_at).date()]
        row[0] += line.decision == ReviewItem.Decision.KEEP
        row[1] += line.decision == ReviewItem.Decision.REVOKE
    return dict(counts)


def recounted_stages(campaign) -> dict:
    """stage → [total, decided, unmanaged] of the stages with lines, from the lines themselves."""
    counts = defaultdict(lambda: [0, 0, 0])
    for line in ReviewItem.objects.filter(campaign=campaign):
        row = counts[line.stage]
        row[0] += 1
        row[1] += line.decision != ReviewItem.Decision.UNDECIDED
        row[2] += line.origin == ReviewItem.Origin.UNMANAGED
    return dict(counts)


def stages(campaign) -> dict:
    """The stage totals with lines (a stage whose lines all moved on keeps its row, at zero)."""
    rows = CampaignStageProgress.objects.filter(campaign=campaign, total__gt=0)
    return {row.stage: [row.total, row.decided, row.unmanaged] for row in rows}


def days(campaign) -> dict:
    return {row.day: [row.kept, row.revoked] for row in CampaignDecisionDay.objects.filter(campaign=campaign)}


def assert_recounted(campaign) -> None:
    assert counters(campaign) == recounted(campaign)
    assert stages(campaign) == recounted_stages(campaign)
    assert days(campaign) == recounted_days(campaign)
    assert days(campaign) == recounted_days(campaign)


def counters(campaign) -> dict:
    rows = CampaignReviewerProgress.objects.filter(campaign=campaign)
    # The lines left to decide, stored with each row for the follow-ups' index, are what the row says, and
    # the name copied for the progress per reviewer's index is the reviewer's.
    assert all(row.undecided == row.total - row.decided for row in rows)
    assert all(row.reviewer_name == row.reviewer.full_name for row in rows.select_related("reviewer"))
    return {
        (row.reviewer_id, row.stage): [row.total, row.decided, row.revoked, row.unmanaged, row.handed_on]
        for row in rows
    }


@pytest.fixture
def staffed(cast, sandbox, django_user_model):
    """A fresh set of engineers under Bob and Dave holding Developers, per call: a launched campaign."""
    made = iter(range(1000))

    def launch(per_manager=PER_MANAGER, **fields):
        number = next(made)
        for manager in (cast.bob, cast.dave):
            for n in range(per_manager):
                person = django_user_model.objects.create_user(
                    email=f"e{number}-{manager.pk}-{n}@example.com",
                    password=None,
                    full_name=f"Engineer {number} {n}",
                    manager=manager,
                    department=f"D{number}",
                )
                Grant.objects.create(
                    user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN, granted_at=timezone.now()
                )
        values = {
            "name": f"Q{number}",
            "owner": cast.erin,
            "fallback_reviewer": cast.dave,
            "second_stage": True,
            "departments": [f"D{number}"],
            "due_at": timezone.now() + timedelta(days=14),
        }
        return services.launch(campaign_id=Campaign.objects.create(**(values | fields)).pk, actor=cast.erin)

    return launch


def lines_of(campaign, reviewer) -> list[int]:
    return list(campaign.items.filter(reviewer=reviewer).order_by("pk").values_list("pk", flat=True))


def test_every_change_of_a_line_keeps_the_counters_equal_to_a_recount(cast, staffed):
    campaign = staffed()
    assert_recounted(campaign)
    assert len(recounted(campaign)) == 2 and days(campaign) == {}
    bobs, daves = lines_of(campaign, cast.bob), lines_of(campaign, cast.dave)

    services.decide(campaign_id=campaign.pk, item_ids=bobs[:3], actor=cast.bob, decision="keep")  # to Carol
    assert_recounted(campaign)
    services.decide(campaign_id=campaign.pk, item_ids=bobs[3:4], actor=cast.bob, decision="revoke", comment="Gone")
    services.decide(campaign_id=campaign.pk, item_ids=bobs[:2], actor=cast.carol, decision="revoke", comment="No")
    services.decide(campaign_id=campaign.pk, item_ids=bobs[3:4], actor=cast.bob, decision="keep")  # changes its mind
    assert_recounted(campaign)
    today = timezone.localdate()
    assert days(campaign) == {today: [0, 2]}, "Carol's two revokes; Bob's keeps wait for her"
    services.reassign(item_id=daves[0], actor=cast.erin, to=cast.bob, reason="Bob knows the team")
    assert_recounted(campaign)
    ReviewItem.objects.filter(pk__in=daves[1:3]).update(recommendation="revoke", recommendation_reason="Unused")
    services.accept_recommendations(campaign_id=campaign.pk, item_ids=daves[1:3], actor=cast.dave)
    assert_recounted(campaign)

    services.sign_off(campaign_id=campaign.pk, actor=cast.erin)

    assert_recounted(campaign)
    assert selectors.progress(campaign) == {
        "total": 2 * PER_MANAGER,
        "decided": 2 * PER_MANAGER,
        "waiting_first": 0,
        "waiting_second": 0,
        "handed_on": 4,  # three kept at once, and the revoke Bob changed to a keep
        "unmanaged": 0,
    }


def test_an_escalation_at_sign_off_moves_the_counters_to_the_owner(cast, staffed):
    campaign = staffed(undecided=Campaign.Undecided.ESCALATE)
    services.decide(campaign_id=campaign.pk, item_ids=lines_of(campaign, cast.bob), actor=cast.bob, decision="keep")

    with pytest.raises(Refusal):
        services.sign_off(campaign_id=campaign.pk, actor=cast.erin)

    assert_recounted(campaign)
    assert counters(campaign)[(cast.erin.pk, ReviewItem.Stage.FIRST)][0] == PER_MANAGER


def test_a_failed_decision_leaves_the_counters_alone(cast, staffed):
    campaign = staffed()
    before = counters(campaign)
    mixed = lines_of(campaign, cast.bob)[:2] + lines_of(campaign, cast.dave)[:1]

    with pytest.raises(Refusal):
        services.decide(campaign_id=campaign.pk, item_ids=mixed, actor=cast.bob, decision="keep")

    assert counters(campaign) == before


def race(*calls) -> list:
    """Run the calls at once, each in its own thread and database connection; typed refusals are
    returned, anything else (a deadlock above all) fails the test."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = call()
        except Refusal as exc:
            outcomes[index] = exc
        except Exception as exc:
            outcomes[index] = ("unexpected", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(outcome is not None for outcome in outcomes), "a thread did not finish"
    assert not [outcome for outcome in outcomes if isinstance(outcome, tuple)], outcomes
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_keep_every_counter_equal_to_a_recount(cast, staffed):
    for _ in range(ROUNDS):
        campaign = staffed()
        bobs, daves = lines_of(campaign, cast.bob), lines_of(campaign, cast.dave)
        services.decide(campaign_id=campaign.pk, item_ids=bobs[:2], actor=cast.bob, decision="keep")  # Carol's now

        race(
            lambda c=campaign, ids=bobs[2:4]: services.decide(
                campaign_id=c.pk, item_ids=ids, actor=cast.bob, decision="keep"
            ),
            lambda c=campaign, ids=bobs[4:]: services.decide(
                campaign_id=c.pk, item_ids=ids, actor=cast.bob, decision="revoke", comment="Left the team"
            ),
            lambda c=campaign, ids=daves[1:]: services.decide(
                campaign_id=c.pk, item_ids=ids, actor=cast.dave, decision="keep"
            ),
            lambda c=campaign, ids=bobs[:2]: services.decide(
                campaign_id=c.pk, item_ids=ids, actor=cast.carol, decision="revoke", comment="Not needed"
            ),
            lambda item=daves[0]: services.reassign(item_id=item, actor=cast.erin, to=cast.bob, reason="Bob knows"),
        )

        assert_recounted(campaign)


def test_the_campaign_overview_runs_the_same_queries_for_few_and_many_lines(cast, staffed, client_for):
    def overview_queries(campaign) -> int:
        client = client_for(cast.erin)
        client.get(reverse("reviews:campaign", args=[campaign.pk]))  # the session's own first queries
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("reviews:campaign", args=[campaign.pk])).status_code == 200
        return len(queries)

    few, many = staffed(), staffed(per_manager=40)
    for campaign in (few, many):
        bobs = lines_of(campaign, cast.bob)
        services.decide(campaign_id=campaign.pk, item_ids=bobs[:3], actor=cast.bob, decision="keep")
        services.decide(campaign_id=campaign.pk, item_ids=bobs[3:5], actor=cast.bob, decision="revoke", comment="x")

    assert overview_queries(few) == overview_queries(many)


def test_my_reviews_as_an_admin_runs_the_same_queries_for_few_and_many_lines(cast, staffed, client_for):
    def mine_queries() -> int:
        client = client_for(cast.erin)
        client.get(reverse("reviews:mine"))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("reviews:mine")).status_code == 200
        return len(queries)

    staffed()
    few = mine_queries()
    staffed(per_manager=40)
    assert mine_queries() == few


def test_an_auditor_reads_every_line_in_snapshot_order_with_the_same_queries(cast, staffed, client_for):
    def queue(campaign, query="") -> tuple[int, object]:
        client = client_for(cast.frank)
        client.get(reverse("reviews:queue", args=[campaign.pk]) + query)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("reviews:queue", args=[campaign.pk]) + query)
        assert response.status_code == 200
        return len(queries), response.context

    few, many = staffed(), staffed(per_manager=40)
    bobs = lines_of(many, cast.bob)[:5]
    services.decide(campaign_id=many.pk, item_ids=bobs, actor=cast.bob, decision="revoke", comment="Left the team")

    assert queue(few)[0] == queue(many)[0] and queue(few, "?all=1")[0] == queue(many, "?all=1")[0]
    undecided, every = queue(many)[1], queue(many, "?all=1")[1]
    assert (undecided["matching"], every["matching"]) == (75, 80)
    lines = [line.pk for line in every["page"]]
    assert lines == sorted(lines) == list(many.items.order_by("pk").values_list("pk", flat=True)[:25])


def wide_campaign(cast, sandbox, django_user_model, managers: int, name: str = "Wide") -> Campaign:
    """`managers` managers, each reviewing one report's Developers access, in a campaign of their department."""
    for n in range(managers):
        manager = django_user_model.objects.create_user(
            email=f"m{n}.{name}@example.com", password=None, full_name=f"M {n}"
        )
        report = django_user_model.objects.create_user(
            email=f"r{n}.{name}@example.com", password=None, full_name=f"R {n}", manager=manager, department=name
        )
        Grant.objects.create(user=report, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    campaign = Campaign.objects.create(
        name=name,
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        departments=[name],
        due_at=timezone.now() + timedelta(days=14),
    )
    return services.launch(campaign_id=campaign.pk, actor=cast.erin)


def test_the_overview_takes_the_same_queries_with_3_reviewers_and_103(cast, sandbox, django_user_model, client_for):
    few = wide_campaign(cast, sandbox, django_user_model, 3, name="Few")
    many = wide_campaign(cast, sandbox, django_user_model, 103, name="Many")
    # Every reviewer reminded and escalated, and one of each campaign with no line left (listed all the same).
    Campaign.objects.filter(pk__in=[few.pk, many.pk]).update(due_at=timezone.now() + timedelta(hours=12))
    remind_reviewers(timezone.now())
    escalate_reviewers(timezone.now())
    for campaign in (few, many):
        line = ReviewItem.objects.filter(campaign=campaign).order_by("pk").first()
        services.reassign(item_id=line.pk, actor=cast.erin, to=cast.dave, reason="Dave knows the team")
    client = client_for(cast.erin)
    client.get(reverse("reviews:campaign", args=[few.pk]))  # the session's own first queries

    def queries(campaign) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("reviews:campaign", args=[campaign.pk])).status_code == 200
        return len(captured)

    assert queries(few) == queries(many)


def test_the_follow_ups_shown_are_those_with_most_left_to_decide(cast, sandbox, django_user_model):
    campaign = wide_campaign(cast, sandbox, django_user_model, 5)
    for line in ReviewItem.objects.filter(campaign=campaign).exclude(reviewer__full_name__in=["M 3", "M 1"]):
        services.decide(campaign_id=campaign.pk, item_ids=[line.pk], actor=line.reviewer, decision="keep", comment="")

    shown, reviewers = selectors.follow_ups_shown(campaign, 2)

    assert ([str(row.reviewer) for row in shown], reviewers) == (["M 1", "M 3"], 5)


def test_the_overview_lists_the_first_100_reviewers_and_counts_the_rest(cast, sandbox, django_user_model, client_for):
    for n in range(103):
        manager = django_user_model.objects.create_user(email=f"m{n}@example.com", password=None, full_name=f"M {n}")
        report = django_user_model.objects.create_user(
            email=f"r{n}@example.com", password=None, full_name=f"R {n}", manager=manager, department="Wide"
        )
        Grant.objects.create(user=report, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    campaign = Campaign.objects.create(
        name="Wide",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        departments=["Wide"],
        due_at=timezone.now() + timedelta(days=14),
    )
    services.launch(campaign_id=campaign.pk, actor=cast.erin)

    page = client_for(cast.erin).get(reverse("reviews:campaign", args=[campaign.pk]))

    assert (len(page.context["reviewers"]), page.context["reviewers_more"]) == (100, 3)
    assert (len(page.context["follow_ups"]), page.context["follow_ups_more"]) == (100, 3)
    assert "and 3 more" in page.content.decode()


def test_a_renamed_reviewer_moves_in_the_progress_per_reviewer(
    cast, sandbox, django_user_model, client_for, django_capture_on_commit_callbacks
):
    campaign = wide_campaign(cast, sandbox, django_user_model, 3)
    last = django_user_model.objects.get(full_name="M 2")
    record = PersonRecord(
        email=last.email, full_name="Aaron First", title="", department="", manager_email="", status="active"
    )

    with django_capture_on_commit_callbacks(execute=True):
        upsert_person(data=record, manager=None, actor=None, actor_label="HR feed")
    page = client_for(cast.erin).get(reverse("reviews:campaign", args=[campaign.pk]))

    assert [row["reviewer__full_name"] for row in page.context["reviewers"]] == ["Aaron First", "M 0", "M 1"]
    assert CampaignReviewerProgress.objects.get(campaign=campaign, reviewer=last).reviewer_name == "Aaron First"


def test_in_two_stages_the_follow_ups_rank_each_reviewer_by_both_stages_lines(cast, staffed):
    campaign = staffed()
    bobs, daves = lines_of(campaign, cast.bob), lines_of(campaign, cast.dave)
    services.decide(campaign_id=campaign.pk, item_ids=bobs[:4], actor=cast.bob, decision="keep")  # Carol's now
    services.reassign(item_id=daves[0], actor=cast.erin, to=cast.carol, reason="Carol knows the team")
    services.decide(campaign_id=campaign.pk, item_ids=daves[1:2], actor=cast.dave, decision="revoke", comment="Left")

    shown, reviewers = selectors.follow_ups_shown(campaign, 3)

    # Carol: one line in the first stage and four in the second; Dave four left, Bob two.
    assert [(row.reviewer, row.undecided) for row in shown] == [(cast.carol, 5), (cast.dave, 4), (cast.bob, 2)]
    assert reviewers == 3
