"""What was done with a grant, where decisions about it are made and when it ends: Bob, deciding Alice's
extension of her hour grant, sees her activity so far (read from CloudTrail when she asked), or plainly that the
account has no trail; and a grant whose removal is read back from AWS has its whole window read once more."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import Grant, GrantActivity
from catalog.models import Entitlement
from iam.apply import sync
from iam.tasks import summarise_grant_activity, summarise_live_grants
from outbox.models import OutboxMessage
from tests.iam.test_cloudtrail import trail  # noqa: F401 (the trail bucket fixture)
from tests.iam.test_sync_grant import groups_in_aws
from tests.iam.trail_files import iam_user_call

REASON = "Rotating the payment service's database credentials"
READ = "iam.summarise_grant_activity"


def reads_queued() -> list:
    return list(OutboxMessage.objects.filter(task_name=READ).values_list("args", flat=True))


@pytest.fixture
def elevated(cast, sandbox):
    production = Entitlement.objects.create(
        account=sandbox.account,
        aws_name="ProdAdmin",
        name="Production admin",
        risk=Entitlement.Risk.HIGH,
        duration_unit=Entitlement.DurationUnit.HOURS,
        max_duration_hours=8,
    )
    production.owners.set([cast.carol])
    return production


@pytest.fixture
def alices_hour(cast, elevated):
    """Alice has held Production admin for an hour, with an hour left."""
    began = timezone.now() - timedelta(hours=1)
    return Grant.objects.create(
        user=cast.alice,
        entitlement=elevated,
        source=Grant.Source.ADMIN,
        sync_state=Grant.SyncState.APPLIED,
        granted_at=began,
        activated_at=began,
        expires_at=began + timedelta(hours=2),
        duration_hours=2,
    )


def test_bob_deciding_alices_extension_sees_what_she_did_so_far(trail, client_for, cast, alices_hour):  # noqa: F811
    moments = [timezone.now() - timedelta(minutes=minutes) for minutes in (40, 30, 20)]
    trail(
        [
            iam_user_call("alice", moments[0], "s3.amazonaws.com", "GetObject"),
            iam_user_call("alice", moments[1], "s3.amazonaws.com", "GetObject"),
            iam_user_call("alice", moments[2], "rds.amazonaws.com", "ModifyDBInstance"),
            iam_user_call("bob", moments[2], "s3.amazonaws.com", "DeleteBucket"),
        ],
        moments[0],
    )

    services.request_extension(requester=cast.alice, grant_id=alices_hour.pk, duration_hours=1, justification=REASON)

    assert reads_queued() == [[alices_hour.pk]], "asking for more time asks for a fresh read"
    inbox = client_for(cast.bob).get(reverse("access:inbox")).content.decode()
    assert "Activity so far: being read from CloudTrail" in inbox
    summarise_grant_activity(alices_hour.pk)  # the worker runs what was queued

    inbox = client_for(cast.bob).get(reverse("access:inbox")).content.decode()
    assert "Extend Production admin" in inbox
    assert "Activity so far: used 3 calls in 1 hour: s3:GetObject, rds:ModifyDBInstance (CloudTrail)" in inbox
    assert "1 write, delete or IAM call flagged" in inbox


def test_without_a_trail_bob_is_told_so_plainly_and_nothing_is_read(client_for, cast, alices_hour):
    services.request_extension(requester=cast.alice, grant_id=alices_hour.pk, duration_hours=1, justification=REASON)

    inbox = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    assert "CloudTrail is not configured for this account" in inbox
    assert reads_queued() == []


def test_a_new_request_shows_no_activity_line(client_for, cast, elevated):
    services.submit_request(requester=cast.alice, entitlement=elevated, justification=REASON, duration_hours=2)

    inbox = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    assert "Production admin" in inbox and 'data-testid="activity-so-far"' not in inbox


def test_a_grant_read_back_gone_from_aws_has_its_whole_window_read_once_more(
    aws,
    trail,  # noqa: F811
    moto_server,
    cast,
    sandbox,
):
    access_request = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    services.approve(request_id=access_request.pk, actor=cast.bob)
    grant = Grant.objects.get(user=cast.alice, entitlement=sandbox.developers)
    sync.sync_grant(grant.pk)
    OutboxMessage.objects.all().delete()  # what approving and applying queued is not the subject here
    services.give_back(grant_id=grant.pk, actor=cast.alice)
    assert reads_queued() == [], "not before AWS is read back without it"

    sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert grant.sync_state == Grant.SyncState.REVOKED and "Developers" not in groups_in_aws(moto_server, "alice")
    assert reads_queued() == [[grant.pk]]
    summarise_grant_activity(grant.pk)
    activity = GrantActivity.objects.get(grant=grant)
    assert (activity.window_start, activity.window_end) == (grant.activated_at, grant.ended_at)


def test_without_a_trail_nothing_is_read_at_the_end(aws, cast, sandbox):
    access_request = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    services.approve(request_id=access_request.pk, actor=cast.bob)
    grant = Grant.objects.get(user=cast.alice, entitlement=sandbox.developers)
    sync.sync_grant(grant.pk)
    services.give_back(grant_id=grant.pk, actor=cast.alice)

    sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert grant.sync_state == Grant.SyncState.REVOKED
    assert reads_queued() == []


def test_the_daily_read_comes_back_for_files_delivered_after_the_read_at_the_end(trail, cast, alices_hour):  # noqa: F811
    ended = timezone.now() - timedelta(minutes=5)
    Grant.objects.filter(pk=alices_hour.pk).update(desired=Grant.Desired.ABSENT, ended_at=ended)
    summarise_grant_activity(alices_hour.pk)  # at the end: CloudTrail may still deliver its last files

    assert summarise_live_grants() == 1

    GrantActivity.objects.filter(grant=alices_hour).update(computed_at=ended + timedelta(minutes=16))
    OutboxMessage.objects.all().delete()
    assert summarise_live_grants() == 0, "read after the last delivery: complete"
