"""Two approvers clicking at the same moment produce one decision, one grant and one sync."""

import threading

import pytest
from django.db import connection

from access import services
from access.models import AccessRequest, Grant
from audit.models import AuditEvent
from inputs.refusals import StaleState

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_produce_one_grant(cast, sandbox):
    carols = services.submit_request(requester=cast.carol, entitlement=sandbox.developers, justification=GOOD_REASON)
    # Two governance admins may both decide Carol's request (she has no manager).
    second_admin = type(cast.erin).objects.create_user(
        email="ivan@example.com", password="x" * 16, full_name="Ivan Admin", is_superuser=True, is_staff=True
    )
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def approve_as(admin):
        start.wait()
        try:
            services.approve(request_id=carols.pk, actor=admin)
            outcomes.append("approved")
        except StaleState:
            outcomes.append("stale")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve_as, args=(admin,)) for admin in (cast.erin, second_admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["approved", "stale"]
    assert AccessRequest.objects.get(pk=carols.pk).state == AccessRequest.State.APPROVED
    assert Grant.objects.count() == 1
    assert AuditEvent.objects.filter(action="grant.desired_present").count() == 1
    assert AuditEvent.objects.filter(action="request.approved").count() == 1
