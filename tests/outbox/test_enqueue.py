"""Queueing a task with a change: sent once the change commits, never for a change rolled back, and kept
for the relay when the broker is down at that moment (without the person hearing of it)."""

import logging
from contextlib import suppress
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from outbox.models import OutboxMessage
from outbox.relay import relay
from outbox.services import FRESH_GRACE, enqueue, enqueue_each

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=10)


class Refused(Exception):
    pass


def test_a_task_queued_with_a_change_is_sent_when_it_commits_and_nothing_is_left(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue("iam.sync_grant", 7)
        assert OutboxMessage.objects.count() == 1 and broker.sent == [], "nothing before the commit"

    assert broker.sent == [("iam.sync_grant", [7])]
    assert not OutboxMessage.objects.exists()


def test_a_task_queued_in_a_transaction_that_rolls_back_is_never_sent(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, suppress(Refused), transaction.atomic():
        enqueue("iam.sync_grant", 7)
        raise Refused()

    assert (broker.sent, callbacks) == ([], [])
    assert not OutboxMessage.objects.exists()
    assert relay(now=timezone.now() + LATER) == 0, "nothing for the relay either"


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_sends_its_task_and_a_rolled_back_one_does_not(broker):
    with transaction.atomic():
        enqueue("iam.sync_grant", 1)
    with suppress(Refused), transaction.atomic():
        enqueue("iam.sync_grant", 2)
        raise Refused()

    assert broker.sent == [("iam.sync_grant", [1])]
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_row_commits_and_is_sent_at_once(broker):
    enqueue("posture.scan_account", 3)

    assert broker.sent == [("posture.scan_account", [3])]
    assert not OutboxMessage.objects.exists()


def test_many_are_written_together_and_sent_in_order(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_each("iam.fetch_permissions", [(1,), (2,), (3,)])
        enqueue_each("iam.fetch_permissions", [])

    assert len(callbacks) == 1, "one send after commit for the lot"
    assert broker.sent == [
        ("iam.fetch_permissions", [1]),
        ("iam.fetch_permissions", [2]),
        ("iam.fetch_permissions", [3]),
    ]


def test_a_countdown_becomes_the_task_eta(broker, django_capture_on_commit_callbacks):
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue("iam.sync_grant", 7, countdown=30)

    [options] = broker.options
    assert before + timedelta(seconds=29) < options["eta"] <= timezone.now() + timedelta(seconds=30)


def test_broker_down_at_commit_is_logged_and_left_for_the_relay_never_raised(
    broker, django_capture_on_commit_callbacks, caplog
):
    broker.down()
    with caplog.at_level(logging.WARNING, logger="outbox"), django_capture_on_commit_callbacks(execute=True):
        enqueue_each("notifications.request_decided", [(1,), (2,)])

    assert broker.refused == ["notifications.request_decided"], "the first refusal stops the sending"
    waiting = list(OutboxMessage.objects.order_by("pk"))
    assert [(row.args, row.attempts) for row in waiting] == [([1], 1), ([2], 1)]
    assert all("Connection refused" in row.last_error for row in waiting)
    assert all(row.next_attempt_at > timezone.now() for row in waiting), "backing off"
    assert "Broker unreachable: task notifications.request_decided" in caplog.text

    broker.up()
    assert relay() == 0, "not before its backoff"
    assert relay(now=timezone.now() + LATER) == 2
    assert broker.sent == [("notifications.request_decided", [1]), ("notifications.request_decided", [2])]
    assert not OutboxMessage.objects.exists()


def test_the_relay_leaves_a_fresh_row_to_its_own_commit(broker):
    # Written, but its transaction's on_commit has not run yet (nor ever will here: the process "died").
    enqueue("iam.sync_grant", 7)

    assert relay() == 0
    assert relay(now=timezone.now() + FRESH_GRACE + timedelta(seconds=1)) == 1
    assert broker.sent == [("iam.sync_grant", [7])]


def test_the_relay_sends_oldest_first_in_batches(broker):
    for number in range(7):
        enqueue("iam.sync_grant", number)

    assert relay(now=timezone.now() + LATER, batch_size=3) == 7
    assert broker.sent == [("iam.sync_grant", [number]) for number in range(7)]


def test_the_relay_backs_off_longer_after_each_failure_and_stops_at_the_first(broker):
    enqueue_each("iam.sync_grant", [(1,), (2,), (3,)])
    broker.down()
    waits = []
    for _ in range(3):
        assert relay(now=OutboxMessage.objects.order_by("pk").first().next_attempt_at, batch_size=1) == 0
        first = OutboxMessage.objects.order_by("pk").first()
        waits.append((first.next_attempt_at - timezone.now()).total_seconds())

    assert broker.refused == ["iam.sync_grant"] * 3, "one try per run while the broker is down"
    assert waits[0] < waits[1] < waits[2]
    assert list(OutboxMessage.objects.order_by("pk").values_list("attempts", flat=True)) == [3, 0, 0]
