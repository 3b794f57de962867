"""Messages that are one wake-up: whatever a commit queued under the same coalesce key reaches the broker once.

A grant sync claims its grant and whatever else of its account is waiting, so Erin granting twelve engineers
the Developers group in one change needs one worker woken, not twelve tasks of which eleven find nothing.
"""

from contextlib import suppress
from datetime import timedelta

import boto3
import pytest
from django.db import transaction
from django.utils import timezone

from access import services
from access.models import Grant
from outbox.models import OutboxMessage
from outbox.relay import relay
from outbox.services import enqueue, enqueue_each
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db
GOOD_REASON = "Deploying the billing service for the Q4 release"
LATER = timedelta(minutes=10)


class Refused(Exception):
    pass


def test_one_commits_messages_under_one_key_are_sent_once_and_all_their_rows_go(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for grant_id in (11, 12, 13):
            enqueue("iam.sync_grant", grant_id, coalesce="developers")
        enqueue("iam.sync_grant", 21, coalesce="deployers")
        enqueue("notifications.request_decided", 5)
        enqueue("notifications.request_decided", 6)

    assert broker.sent == [
        ("iam.sync_grant", [11]),
        ("iam.sync_grant", [21]),
        ("notifications.request_decided", [5]),
        ("notifications.request_decided", [6]),
    ], "the first of each key, and every message without one"
    assert not OutboxMessage.objects.exists()


def test_a_message_with_a_countdown_is_never_folded_into_another(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue("iam.sync_grant", 11, coalesce="developers")
        enqueue("iam.sync_grant", 12, coalesce="developers", countdown=30)

    assert broker.names() == ["iam.sync_grant", "iam.sync_grant"]
    assert "eta" in broker.options[1]


def test_a_rolled_back_savepoint_takes_its_rows_and_the_rest_of_the_commit_is_still_sent(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue("iam.sync_grant", 11, coalesce="developers")
        with suppress(Refused), transaction.atomic():
            enqueue("iam.sync_grant", 12, coalesce="deployers")
            raise Refused()
        enqueue("iam.sync_grant", 13, coalesce="developers")

    assert broker.sent == [("iam.sync_grant", [11])]
    assert not OutboxMessage.objects.exists()


def test_when_the_only_message_sent_is_in_a_rolled_back_savepoint_the_earlier_ones_still_go(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_each("iam.fetch_permissions", [(1,), (2,)])
        with suppress(Refused), transaction.atomic():
            enqueue("iam.sync_grant", 12, coalesce="deployers")
            raise Refused()

    assert broker.sent == [("iam.fetch_permissions", [1]), ("iam.fetch_permissions", [2])]


def test_the_relay_coalesces_too_and_goes_on_to_its_next_batch(broker):
    # Written, but their transaction's on_commit never runs here (the process "died"): the relay's to send.
    enqueue_each("iam.sync_grant", [(n,) for n in range(6)], coalesce=["developers"] * 6)
    enqueue_each("iam.fetch_permissions", [(1,), (2,)])

    assert relay(now=timezone.now() + LATER, batch_size=4) == 8

    assert broker.sent == [
        ("iam.sync_grant", [0]),
        ("iam.sync_grant", [4]),  # the next batch of the relay: its own wake-up
        ("iam.fetch_permissions", [1]),
        ("iam.fetch_permissions", [2]),
    ]
    assert not OutboxMessage.objects.exists()


def test_a_key_whose_first_message_the_broker_refused_keeps_every_row_for_the_relay(
    broker, django_capture_on_commit_callbacks
):
    broker.down()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_each("iam.sync_grant", [(1,), (2,)], coalesce=["developers", "developers"])

    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [1, 1]


@pytest.fixture
def engineers(cast, django_user_model):
    return [
        django_user_model.objects.create_user(email=f"eng{n}@example.com", full_name=f"Eng {n}", manager=cast.bob)
        for n in range(12)
    ]


@pytest.mark.django_db(transaction=True)
def test_erin_granting_twelve_engineers_at_once_wakes_one_worker_and_all_twelve_reach_aws(
    cast, sandbox, aws, moto_server, celery_worker, real_broker, engineers, settings
):
    settings.GRANT_SYNC_BATCH_SIZE = 5  # three batches: each full one wakes the next worker itself
    sandbox.account.create_iam_users = True  # the engineers are new to the account
    sandbox.account.save(update_fields=["create_iam_users"])
    with transaction.atomic():
        grants = [
            services.grant_by_admin(
                actor=cast.erin, user=person, entitlement=sandbox.developers, justification=GOOD_REASON
            )
            for person in engineers
        ]

    ids = [grant.pk for grant in grants]
    wait_until(
        lambda: not Grant.objects.filter(pk__in=ids, sync_state__in=["pending", "in_progress"]).exists(),
        180,
        "all twelve grants are settled",
    )
    states = list(Grant.objects.filter(pk__in=ids).values_list("sync_state", "last_error"))
    assert states == [("applied", "")] * 12
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    members = {user["UserName"] for user in iam.get_group(GroupName="Developers")["Users"]}
    assert len(members) == 12
    wake_ups = real_broker.names().count("iam.sync_grant")
    assert wake_ups <= 3, f"one for the commit, then one per full batch of five at most, not {wake_ups}"
    assert all(grant.sync_attempts == 1 for grant in Grant.objects.filter(pk__in=[g.pk for g in grants]))
