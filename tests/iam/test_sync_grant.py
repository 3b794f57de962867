"""A grant reaches AWS through a real Celery worker and a moto server, and is read back."""

import time
from datetime import timedelta

import boto3
import pytest
from django.utils import timezone

from access import services
from access.models import Grant
from audit.models import AuditEvent
from iam.apply import sync

GOOD_REASON = "Deploying the billing service for the Q4 release"


def groups_in_aws(moto_url: str, user_name: str) -> set[str]:
    """Ask the simulated AWS directly, not through the code under test."""
    iam = boto3.client("iam", endpoint_url=moto_url, region_name="us-east-1")
    return {group["GroupName"] for group in iam.list_groups_for_user(UserName=user_name)["Groups"]}


def wait_for_sync(grant: Grant, seconds: float = 120) -> Grant:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        grant.refresh_from_db()
        if grant.sync_state not in (Grant.SyncState.PENDING, Grant.SyncState.IN_PROGRESS):
            return grant
        time.sleep(0.1)
    raise AssertionError(f"grant {grant.pk} still {grant.sync_state} after {seconds}s")


@pytest.mark.django_db(transaction=True)
def test_approved_request_is_applied_in_aws_by_the_worker(cast, sandbox, aws, moto_server, celery_worker):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    assert "Developers" not in groups_in_aws(moto_server, "alice")

    services.approve(request_id=access_request.pk, actor=cast.bob)

    grant = wait_for_sync(Grant.objects.get(user=cast.alice))
    assert grant.sync_state == Grant.SyncState.APPLIED, grant.last_error
    assert grant.verified_at is not None and grant.sync_attempts == 1
    assert "Developers" in groups_in_aws(moto_server, "alice")
    applied = AuditEvent.objects.get(action="grant.applied")
    assert applied.actor is None and applied.actor_label == "system:iam-sync"
    assert "alice is a member of Developers in 123456789012 (read back)" in applied.after["evidence"]


@pytest.fixture
def pending_grant(cast, sandbox):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    return Grant.objects.get()


def test_running_the_sync_twice_changes_nothing_more(pending_grant, aws, moto_server):
    first = sync.sync_grant(pending_grant.pk)
    events_after_first = AuditEvent.objects.count()

    second = sync.sync_grant(pending_grant.pk)

    assert (first.result, second.result) == ("applied", "skipped")
    assert AuditEvent.objects.count() == events_after_first
    assert groups_in_aws(moto_server, "alice") == {"Developers"}


def test_missing_iam_user_fails_permanently_where_the_portal_may_not_create_users(
    cast, pending_grant, aws, moto_server
):
    boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1").delete_user(UserName="alice")

    outcome = sync.sync_grant(pending_grant.pk)

    pending_grant.refresh_from_db()
    assert outcome.result == "failed"
    assert pending_grant.sync_state == Grant.SyncState.FAILED
    assert pending_grant.last_error == (
        "alice has no IAM user in 123456789012, and the account does not let the portal create IAM users: "
        "create it there, or allow it on the account."
    )
    assert AuditEvent.objects.filter(action="grant.sync_failed").count() == 1


def test_unreachable_aws_is_transient_and_leaves_the_grant_pending(pending_grant, aws, settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.AWS_MAX_ATTEMPTS = 1

    outcome = sync.sync_grant(pending_grant.pk)

    pending_grant.refresh_from_db()
    assert outcome.result == "retry"
    assert pending_grant.sync_state == Grant.SyncState.PENDING
    assert pending_grant.sync_claim is None
    assert "Could not reach AWS" in pending_grant.last_error


def test_a_dead_workers_claim_is_taken_over_after_the_lease(pending_grant, aws, moto_server, settings):
    dead_worker = services.claim_grant_for_sync(pending_grant.pk)
    assert services.claim_grant_for_sync(pending_grant.pk) is None, "a live claim is not shared"
    Grant.objects.filter(pk=pending_grant.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.GRANT_SYNC_LEASE_SECONDS + 1)
    )

    outcome = sync.sync_grant(pending_grant.pk)
    late = services.record_sync_failure(dead_worker, error="late result from a dead worker")

    pending_grant.refresh_from_db()
    assert outcome.result == "applied"
    assert late is False
    assert pending_grant.sync_state == Grant.SyncState.APPLIED
    assert pending_grant.sync_attempts == 2


def test_desired_absent_removes_the_membership_and_reads_it_back(pending_grant, aws, moto_server):
    sync.sync_grant(pending_grant.pk)
    Grant.objects.filter(pk=pending_grant.pk).update(desired=Grant.Desired.ABSENT, sync_state=Grant.SyncState.PENDING)

    outcome = sync.sync_grant(pending_grant.pk)

    pending_grant.refresh_from_db()
    assert outcome.result == "applied"
    assert pending_grant.sync_state == Grant.SyncState.REVOKED
    assert groups_in_aws(moto_server, "alice") == set()


def test_an_account_that_allows_it_gets_the_iam_user_created_on_first_grant(cast, pending_grant, aws, moto_server):
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    iam.delete_user(UserName="alice")
    pending_grant.entitlement.account.create_iam_users = True
    pending_grant.entitlement.account.save()

    outcome = sync.sync_grant(pending_grant.pk)

    assert outcome.result == "applied"
    assert groups_in_aws(moto_server, "alice") == {"Developers"}
    tags = iam.list_user_tags(UserName="alice")["Tags"]
    assert tags == [{"Key": "portal-email", "Value": "alice@example.com"}]
