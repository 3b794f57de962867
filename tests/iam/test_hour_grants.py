"""Two hours of elevated access, end to end: asked for, approved, applied in AWS by the real worker,
ended by the expiry job when its two hours from activation are up, and read back gone from AWS."""

from datetime import timedelta

import pytest

from access import services
from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from tests.iam.test_sync_grant import groups_in_aws, wait_for_sync

GOOD_REASON = "Rotating the payment service's database credentials"


@pytest.mark.django_db(transaction=True)
def test_two_hours_from_activation_then_gone_from_aws(cast, sandbox, aws, aws_direct, moto_server, celery_worker):
    aws_direct("iam").create_group(GroupName="ProdAdmin")
    elevated = Entitlement.objects.create(
        account=sandbox.account,
        aws_name="ProdAdmin",
        name="Production admin",
        risk=Entitlement.Risk.LOW,
        duration_unit=Entitlement.DurationUnit.HOURS,
        max_duration_hours=8,
    )
    elevated.owners.set([cast.carol])
    access_request = services.submit_request(
        requester=cast.alice, entitlement=elevated, justification=GOOD_REASON, duration_hours=2
    )

    services.approve(request_id=access_request.pk, actor=cast.bob)

    grant = wait_for_sync(Grant.objects.get(user=cast.alice, entitlement=elevated))
    assert grant.sync_state == Grant.SyncState.APPLIED, grant.last_error
    assert "ProdAdmin" in groups_in_aws(moto_server, "alice")
    activated = grant.activated_at
    assert activated is not None and grant.ends_at == activated + timedelta(hours=2)

    assert services.expire_grants(now=activated + timedelta(hours=2) - timedelta(seconds=1)) == 0
    grant.refresh_from_db()
    assert grant.expires_at == activated + timedelta(hours=2)
    assert "ProdAdmin" in groups_in_aws(moto_server, "alice"), "still within its two hours"

    assert services.expire_grants(now=activated + timedelta(hours=2)) == 1

    grant = wait_for_sync(grant)
    assert (grant.sync_state, grant.end_reason) == (Grant.SyncState.REVOKED, "Expired"), grant.last_error
    assert "ProdAdmin" not in groups_in_aws(moto_server, "alice")
    revoked = AuditEvent.objects.get(action="grant.revoked")
    assert revoked.after["evidence"] == "alice is not a member of ProdAdmin in 123456789012 (read back)"
