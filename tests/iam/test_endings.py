"""Access that ends: a time-bound grant at its end, and everything a leaver held, gone from AWS and read back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access import services
from access.models import Grant
from accounts.services import mark_leaver
from audit.models import AuditEvent
from iam.apply import sync


def groups_of(aws_direct, user_name: str) -> set[str]:
    return {group["GroupName"] for group in aws_direct("iam").list_groups_for_user(UserName=user_name)["Groups"]}


@pytest.fixture
def readonly(entitlement_of, aws, aws_direct):
    aws_direct("iam").create_group(GroupName="ReadOnly")
    entitlement = entitlement_of("iam_group", "ReadOnly", "Read-only")
    entitlement.max_duration_days = 30
    entitlement.save()
    return entitlement


def test_a_time_bound_grant_is_gone_from_aws_at_its_end(cast, readonly, aws_direct):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=readonly, justification="Quarter-end checks", duration_days=7
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    grant = Grant.objects.get()
    sync.sync_grant(grant.pk)
    assert groups_of(aws_direct, "alice") == {"ReadOnly"}

    assert services.expire_grants(now=timezone.now() + timedelta(days=7, minutes=1)) == 1
    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert (outcome.result, grant.sync_state, grant.end_reason) == ("applied", Grant.SyncState.REVOKED, "Expired")
    assert groups_of(aws_direct, "alice") == set()
    revoked = AuditEvent.objects.get(action="grant.revoked")
    assert revoked.after["evidence"] == "alice is not a member of ReadOnly in 123456789012 (read back)"
    assert AuditEvent.objects.filter(action="grant.expired", actor_label="system:expiry").count() == 1


def test_a_leaver_loses_everything_in_aws(cast, sandbox, readonly, grant_of, aws_direct):
    readonly.max_duration_days = None
    readonly.save()
    for entitlement in (sandbox.developers, readonly):
        sync.sync_grant(grant_of(entitlement).pk)
    assert groups_of(aws_direct, "alice") == {"Developers", "ReadOnly"}

    mark_leaver(person=cast.alice, actor=cast.erin)
    for grant in Grant.objects.filter(user=cast.alice):
        sync.sync_grant(grant.pk)

    assert groups_of(aws_direct, "alice") == set()
    assert set(Grant.objects.filter(user=cast.alice).values_list("sync_state", flat=True)) == {"revoked"}
    removals = AuditEvent.objects.filter(action="grant.revoked")
    assert removals.count() == 2
    assert all(event.after["seconds_to_removal"] >= 0 for event in removals)
