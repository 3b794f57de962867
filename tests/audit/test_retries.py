"""A change that loses a deadlock is run again, a bounded number of times, then refused with 409.

Real deadlocks on PostgreSQL: the change locks Carol then Dave; a rival locks Dave, waits until the
change has been waiting for it a while, then locks Carol. PostgreSQL runs its deadlock check in a
process once it has waited `deadlock_timeout`, so the change, waiting longer, finds the circle first
and is rolled back.
"""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from audit.transactions import ATTEMPTS, SOMEONE_ELSE, atomic_with_retries
from inputs.refusals import Contended


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _has_waited_for_a_lock(pid: int) -> bool:
    """The backend has been waiting for a lock for a good part of deadlock_timeout (1 s by default)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted"
            " AND waitstart < clock_timestamp() - current_setting('deadlock_timeout')::interval / 2)",
            [pid],
        )
        return cursor.fetchone()[0]


def contest(cast, *, losses: int):
    """Run the change while a rival deadlocks with its first `losses` attempts; (outcome, attempts)."""
    people = get_user_model().objects
    barrier, attempts, outcome = threading.Barrier(2), [], {}

    @atomic_with_retries(Contended)
    def change():
        attempts.append(_backend_pid())
        people.select_for_update().get(pk=cast.carol.pk)
        if len(attempts) <= losses:
            barrier.wait(timeout=30)
        people.select_for_update().get(pk=cast.dave.pk)
        return "changed"

    def run_change():
        try:
            outcome["value"] = change()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    def rival():
        try:
            for attempt in range(losses):
                with transaction.atomic():
                    people.select_for_update().get(pk=cast.dave.pk)
                    barrier.wait(timeout=30)
                    deadline = time.monotonic() + 20
                    while not _has_waited_for_a_lock(attempts[attempt]) and time.monotonic() < deadline:
                        time.sleep(0.01)
                    people.select_for_update().get(pk=cast.carol.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_change), threading.Thread(target=rival)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcome, len(attempts)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_change_that_loses_a_deadlock_is_run_again(cast):
    outcome, attempts = contest(cast, losses=1)

    assert outcome == {"value": "changed"}
    assert attempts == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_change_that_keeps_losing_is_refused_with_409_not_a_500(cast):
    outcome, attempts = contest(cast, losses=ATTEMPTS)

    refusal = outcome["error"]
    assert isinstance(refusal, Contended) and refusal.status == 409
    assert refusal.message == SOMEONE_ELSE == "Someone else changed this at the same moment; try again."
    assert attempts == ATTEMPTS


@pytest.mark.django_db(transaction=True)
def test_a_change_inside_a_bigger_transaction_is_left_to_its_owner(cast):
    """Only the outermost transaction can be run again: inside one, the change is a savepoint of it."""
    calls = []

    @atomic_with_retries(Contended)
    def change():
        calls.append(transaction.get_connection().in_atomic_block)
        get_user_model().objects.filter(pk=cast.dave.pk).update(title="Head of Finance")
        raise Contended("refused")

    with transaction.atomic():
        with pytest.raises(Contended):
            change()
        assert get_user_model().objects.get(pk=cast.dave.pk).title == "Finance Manager"  # only the savepoint undone

    assert calls == [True]
