"""Bob approves Alice's request while the broker is down: his decision is recorded and answered as such,
and Alice's access reaches AWS once the broker is back (the relay sends what waited; a real worker syncs).
"""

import logging
from datetime import timedelta

import boto3
import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access import services
from access.models import AccessRequest, Grant
from outbox.models import OutboxMessage
from outbox.relay import relay
from tests.waiting import wait_until

GOOD_REASON = "Deploying the billing service for the Q4 release"
LATER = timedelta(minutes=10)


def approve_on_the_page(client, bob, request_id):
    client.force_login(bob)
    return client.post(reverse("access:approve", args=[request_id]), {"comment": "ok for Q4"})


def approve_through_the_api(client, bob, request_id):
    api = APIClient()
    api.force_authenticate(bob)
    return api.post(f"/api/requests/{request_id}/approve/", {"comment": "ok for Q4"}, format="json")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("approve", "answer"), [(approve_on_the_page, 302), (approve_through_the_api, 200)], ids=["page", "api"]
)
def test_an_approval_while_the_broker_is_down_is_recorded_and_synced_once_it_is_back(
    approve, answer, client, cast, sandbox, aws, moto_server, celery_worker, real_broker, caplog
):
    alices_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )

    real_broker.down()
    with caplog.at_level(logging.WARNING, logger="outbox"):
        response = approve(client, cast.bob, alices_request.pk)

    assert response.status_code == answer, response.content[:500]
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.APPROVED
    grant = Grant.objects.get(user=cast.alice)
    assert (grant.desired, grant.sync_state) == ("present", "pending")
    waiting = sorted(OutboxMessage.objects.values_list("task_name", "attempts"))
    assert waiting == [("access.sod_recheck_user", 1), ("iam.sync_grant", 1), ("notifications.request_decided", 1)]
    assert "Broker unreachable: task" in caplog.text

    real_broker.up()
    assert relay(now=timezone.now() + LATER) == 3

    grant = wait_until(
        lambda: Grant.objects.filter(pk=grant.pk, sync_state="applied").first(), 120, "Alice's grant is applied"
    )
    assert grant.sync_attempts == 1
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    assert [group["GroupName"] for group in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["Developers"]
    assert not OutboxMessage.objects.filter(task_name="iam.sync_grant").exists()
    assert real_broker.names().count("iam.sync_grant") == 1, "sent once, by the relay"
