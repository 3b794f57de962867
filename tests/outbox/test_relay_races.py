"""Relays running at once, and a commit's own send beside a relay: every message is sent exactly once.

Threads released by a barrier, each on its own database connection, on PostgreSQL (where the rows are
locked FOR UPDATE SKIP LOCKED); each send takes a moment, so the runs overlap.
"""

import collections
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from outbox.models import OutboxMessage
from outbox.relay import relay
from outbox.services import send_now

MESSAGES = 120


def left_over(count: int) -> list[int]:
    """Rows whose commit's own send never happened (the broker was down, or the process died)."""
    past = timezone.now() - timedelta(minutes=1)
    rows = OutboxMessage.objects.bulk_create(
        OutboxMessage(task_name="iam.sync_grant", args=[number], next_attempt_at=past) for number in range(count)
    )
    return [row.pk for row in rows]


def at_once(*calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as exc:  # reported by the assertion below, with the others
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a relay did not finish"
    assert not [result for result in results if isinstance(result, Exception)], results
    return results


def sent_once_each(broker) -> bool:
    counts = collections.Counter(args[0] for _, args in broker.sent)
    return counts == {number: 1 for number in range(MESSAGES)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_send_each_message_once(broker):
    left_over(MESSAGES)
    broker.delay = 0.003

    first, second = at_once(lambda: relay(batch_size=5), lambda: relay(batch_size=5))

    assert first + second == MESSAGES and first > 0 and second > 0, "both relays took a share"
    assert sent_once_each(broker)
    assert not OutboxMessage.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_commit_sending_its_own_rows_beside_a_relay_sends_each_once(broker):
    # Rows of a long transaction are already due when it commits: its on_commit and a relay both want them.
    ids = left_over(MESSAGES)
    broker.delay = 0.003

    by_commit, by_relay = at_once(lambda: send_now(ids), lambda: relay(batch_size=5))

    assert by_commit + by_relay == MESSAGES
    assert sent_once_each(broker)
    assert not OutboxMessage.objects.exists()
