"""Unmanaged access in a campaign: access AWS shows that the grant ledger does not hold.

It joins the snapshot (and its count and hash) as lines of origin "unmanaged", reviewed by the
holder's manager, else an owner of the entitlement, else the fallback, never the holder. A revoke
removes it from AWS through the drift register's removal, in a Celery task, read back; a keep adopts
it into the ledger when a governance admin signs off, or stays recorded as accepted risk.

Mallory is an IAM user who is no portal person.
"""

import hashlib
import time
from datetime import timedelta

import boto3
import pytest
from django.utils import timezone

from access.models import Grant
from audit.models import AuditEvent
from iam.aws import gateway
from iam.models import UnmanagedAccess
from iam.reconcile import drift_actions, reconcile
from reviews import services
from reviews.models import Campaign, ReviewItem
from tests.reviews.test_campaigns import holds


def drift_row(sandbox, principal, entitlement, person=None, **fields):
    now = timezone.now()
    values = {
        "account": sandbox.account,
        "kind": entitlement.kind if entitlement else "iam_group",
        "aws_principal": principal,
        "aws_name": entitlement.aws_name if entitlement else "Uncatalogued",
        "person": person,
        "entitlement": entitlement,
        "first_seen": now - timedelta(days=40),
        "last_seen": now,
    }
    return UnmanagedAccess.objects.create(**(values | fields))


@pytest.fixture
def campaign(cast, sandbox):
    def make(**fields):
        values = {
            "name": "Q4 review",
            "owner": cast.erin,
            "fallback_reviewer": cast.dave,
            "due_at": timezone.now() + timedelta(days=14),
        }
        return Campaign.objects.create(**(values | fields))

    return make


@pytest.fixture
def found_in_aws(cast, sandbox):
    """Alice (manager Bob) and Mallory (nobody) hold Developers outside the ledger; Carol holds it by grant."""
    holds(cast.carol, sandbox.developers)
    return {
        "alice": drift_row(sandbox, "alice", sandbox.developers, cast.alice),
        "mallory": drift_row(sandbox, "mallory", sandbox.developers),
    }


def lines(campaign) -> dict[str, ReviewItem]:
    items = ReviewItem.objects.filter(campaign=campaign).select_related("holder", "reviewer")
    return {item.holder.email if item.holder else item.aws_principal: item for item in items}


def test_open_unmanaged_access_joins_the_snapshot_with_its_reviewer(cast, sandbox, campaign, found_in_aws):
    launched = services.launch(campaign_id=campaign().pk, actor=cast.erin)

    snapshot = lines(launched)
    alice, mallory = snapshot["alice@example.com"], snapshot["mallory"]
    assert (alice.origin, alice.grant_id, alice.unmanaged_id) == ("unmanaged", None, found_in_aws["alice"].pk)
    assert (alice.reviewer, alice.reviewer_reason, alice.aws_principal) == (cast.bob, "Manager", "alice")
    assert alice.held_since == found_in_aws["alice"].first_seen
    assert (alice.recommendation, alice.recommendation_reason) == (
        "undecided",
        "In AWS with no grant: never requested, approved or adopted",
    )
    assert (mallory.holder, mallory.reviewer) == (None, cast.carol)
    assert mallory.reviewer_reason == "Owner of the entitlement: unmanaged access with nobody else to ask"
    assert (mallory.recommendation, mallory.recommendation_reason) == (
        "revoke",
        "Held by an AWS principal that is no portal person",
    )
    assert snapshot["carol@example.com"].origin == "admin"
    assert launched.population_count == 3
    event = AuditEvent.objects.get(action="campaign.launched")
    assert (event.after["items"], event.after["unmanaged"]) == (3, 2)


def test_the_population_hash_covers_unmanaged_lines_as_documented(cast, sandbox, campaign, found_in_aws):
    launched = services.launch(campaign_id=campaign().pk, actor=cast.erin)

    people = sorted(
        (holder_id, entitlement_id)
        for holder_id, entitlement_id in launched.items.filter(holder__isnull=False).values_list(
            "holder_id", "entitlement_id"
        )
    )
    expected = "".join(f"{holder}:{entitlement}\n" for holder, entitlement in people)
    expected += f"aws:mallory:{sandbox.developers.pk}\n"
    assert launched.population_hash == hashlib.sha256(expected.encode()).hexdigest()


def test_the_owners_own_unmanaged_access_goes_to_the_fallback(cast, sandbox, campaign):
    """Carol owns Developers and has no manager: her unmanaged Developers is Dave's to review."""
    drift_row(sandbox, "carol", sandbox.developers, cast.carol)

    carol = lines(services.launch(campaign_id=campaign().pk, actor=cast.erin))["carol@example.com"]

    assert (carol.reviewer, carol.reviewer_reason) == (cast.dave, "Fallback reviewer: nobody else could review it")


def test_closed_uncatalogued_and_out_of_scope_rows_stay_out(cast, sandbox, campaign, found_in_aws):
    drift_row(sandbox, "trent", sandbox.developers, state=UnmanagedAccess.State.REMOVED)
    drift_row(sandbox, "victor", None)

    everything = services.launch(campaign_id=campaign().pk, actor=cast.erin)
    engineering = services.launch(campaign_id=campaign(name="Eng", departments=["Engineering"]).pk, actor=cast.erin)
    high_risk = services.launch(campaign_id=campaign(name="High", risks=["high"]).pk, actor=cast.erin)

    assert set(lines(everything)) == {"alice@example.com", "carol@example.com", "mallory"}
    assert set(lines(engineering)) == {"alice@example.com"}, "an unknown principal has no department"
    assert set(lines(high_risk)) == set()


def test_a_grant_and_a_drift_row_for_the_same_holding_give_one_line(cast, sandbox, campaign, found_in_aws):
    """A request for Developers was approved after AWS was last read: the grant's line is the one reviewed."""
    holds(cast.alice, sandbox.developers)

    alice = lines(services.launch(campaign_id=campaign().pk, actor=cast.erin))["alice@example.com"]

    assert (alice.origin, alice.unmanaged_id) == ("admin", None)


def test_a_two_stage_campaign_sends_kept_unmanaged_access_to_the_owner(cast, sandbox, campaign, found_in_aws):
    launched = services.launch(campaign_id=campaign(second_stage=True).pk, actor=cast.erin)
    snapshot = lines(launched)
    assert (snapshot["alice@example.com"].reviewer, snapshot["alice@example.com"].second_reviewer) == (
        cast.bob,
        cast.carol,
    )
    assert snapshot["mallory"].second_reviewer is None, "Carol reviews it in the first stage already"

    services.decide(
        campaign_id=launched.pk, item_ids=[snapshot["alice@example.com"].pk], actor=cast.bob, decision="keep"
    )

    assert ReviewItem.objects.get(pk=snapshot["alice@example.com"].pk).reviewer == cast.carol


def test_keeping_unmanaged_access_adopts_it_when_a_governance_admin_signs_off(cast, sandbox, campaign, found_in_aws):
    launched = services.launch(campaign_id=campaign().pk, actor=cast.erin)
    snapshot = lines(launched)
    services.decide(
        campaign_id=launched.pk, item_ids=[snapshot["alice@example.com"].pk], actor=cast.bob, decision="keep"
    )
    services.decide(campaign_id=launched.pk, item_ids=[snapshot["mallory"].pk], actor=cast.carol, decision="keep")

    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    alice, mallory = (ReviewItem.objects.get(pk=snapshot[key].pk) for key in ("alice@example.com", "mallory"))
    grant = Grant.objects.get(user=cast.alice, entitlement=sandbox.developers)
    assert (grant.source, grant.desired, grant.sync_state) == ("import", "present", "applied")
    assert (alice.grant_id, alice.remediation, alice.live_remediation) == (grant.pk, "adopted", "adopted")
    assert UnmanagedAccess.objects.get(pk=found_in_aws["alice"].pk).state == "adopted"
    assert AuditEvent.objects.filter(action="drift.adopted", actor=cast.erin).count() == 1
    assert (mallory.remediation, mallory.grant_id) == ("accepted", None)
    assert mallory.remediation_note.startswith("Accepted risk. mallory is no portal person")
    assert UnmanagedAccess.objects.get(pk=found_in_aws["mallory"].pk).state == "open"
    signed = AuditEvent.objects.get(action="campaign.signed_off")
    assert (signed.after["unmanaged_adopted"], signed.after["unmanaged_removals_queued"]) == (1, 0)


def test_kept_unmanaged_access_stays_accepted_risk_when_the_signer_is_no_admin(cast, sandbox, campaign, found_in_aws):
    launched = services.launch(campaign_id=campaign(owner=cast.carol).pk, actor=cast.carol)
    alice = lines(launched)["alice@example.com"]
    services.decide(campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep")

    services.sign_off(campaign_id=launched.pk, actor=cast.carol)

    alice.refresh_from_db()
    assert (alice.remediation, alice.grant_id) == ("accepted", None)
    assert "not a governance admin" in alice.remediation_note
    assert not Grant.objects.filter(user=cast.alice).exists()


def test_a_protected_principal_is_never_removed_and_its_line_says_why(cast, sandbox, campaign, found_in_aws):
    sandbox.account.protected_principals = "mallory"
    sandbox.account.save()
    launched = services.launch(campaign_id=campaign().pk, actor=cast.erin)
    mallory = lines(launched)["mallory"]
    services.decide(
        campaign_id=launched.pk, item_ids=[mallory.pk], actor=cast.carol, decision="revoke", comment="who is this?"
    )
    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    assert drift_actions.remove_for_review(mallory.unmanaged_id) == "open"  # no AWS call is made for it

    assert services.refresh_remediation(launched.pk) == 1
    mallory = ReviewItem.objects.select_related("unmanaged").get(pk=mallory.pk)
    assert (mallory.remediation, mallory.live_remediation) == ("failed", "failed")
    assert mallory.unmanaged.last_error == drift_actions.PROTECTED_MESSAGE
    assert services.unmanaged_removals_waiting() == [], "a failure is not retried on beat"


def groups_of(moto_server, user_name) -> set[str]:
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    return {group["GroupName"] for group in iam.list_groups_for_user(UserName=user_name)["Groups"]}


@pytest.mark.django_db(transaction=True)
def test_revoking_unmanaged_access_removes_it_from_aws_and_reads_it_back(
    cast, sandbox, campaign, aws, moto_server, celery_worker
):
    """Mallory was added to Developers in the console. The reconcile before launch finds it, the owner
    revokes it, and at sign-off the worker removes it from AWS; the line reads back "Removed"."""
    gateway.ensure_user(aws, "mallory")
    boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1").add_user_to_group(
        GroupName="Developers", UserName="mallory"
    )
    reconcile.reconcile_account(sandbox.account.pk)
    launched = services.launch(campaign_id=campaign().pk, actor=cast.erin)
    mallory = lines(launched)["mallory"]
    services.decide(
        campaign_id=launched.pk, item_ids=[mallory.pk], actor=cast.carol, decision="revoke", comment="no such person"
    )

    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    deadline = time.monotonic() + 120
    while ReviewItem.objects.get(pk=mallory.pk).remediation != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
    mallory = ReviewItem.objects.select_related("unmanaged").get(pk=mallory.pk)
    assert (mallory.remediation, mallory.get_live_remediation_display()) == ("done", "Removed (read back from AWS)")
    assert mallory.unmanaged.state == "removed"
    assert groups_of(moto_server, "mallory") == set()
    removed = AuditEvent.objects.get(action="drift.removed")
    assert "mallory is not a member of Developers" in removed.after["evidence"]
    assert AuditEvent.objects.get(action="campaign.signed_off").after["unmanaged_removals_queued"] == 1


def test_when_aws_refuses_the_removal_the_line_shows_it_failed_with_the_reason(cast, sandbox, campaign, aws):
    """Ghost's IAM user was deleted meanwhile: AWS answers NoSuchEntity, a permanent error, kept on the row."""
    ghost = drift_row(sandbox, "ghost", sandbox.developers)
    launched = services.launch(campaign_id=campaign().pk, actor=cast.erin)
    line = lines(launched)["ghost"]
    services.decide(campaign_id=launched.pk, item_ids=[line.pk], actor=cast.carol, decision="revoke", comment="gone")
    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    assert drift_actions.remove_for_review(ghost.pk) == "open"

    services.refresh_remediation(launched.pk)
    line = ReviewItem.objects.select_related("unmanaged").get(pk=line.pk)
    assert (line.remediation, line.live_remediation) == ("failed", "failed")
    assert "ghost" in line.unmanaged.last_error
