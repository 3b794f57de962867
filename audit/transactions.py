"""The transaction of a state change, retried when it loses a race with another one.

Every state change appends to the audit chain, so every writer meets the others at the chain head;
rows are locked in one order (docs/architecture.md, "Locks and retries") so that they do not wait
for each other in a circle. Should the database still pick a transaction as a deadlock victim, or
refuse one a serialization failure (or SQLite stay locked past its busy timeout), nothing it did
was kept: running it again is safe. `atomic_with_retries` does that a bounded number of times,
then raises the caller's refusal, which its edge answers with 409.

It lives here, in the lowest layer, because every app that changes state writes to the audit trail
and may use it.
"""

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)

Params = ParamSpec("Params")
Result = TypeVar("Result")

ATTEMPTS = 4
BACKOFF_SECONDS = 0.05
SOMEONE_ELSE = "Someone else changed this at the same moment; try again."

# PostgreSQL's SQLSTATEs for a transaction the server rolled back to let another one finish.
_LOST_A_RACE = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def lost_a_race(error: OperationalError) -> bool:
    """True for an error that only says another transaction got there first: the work may be run again."""
    if getattr(error.__cause__, "sqlstate", None) in _LOST_A_RACE:
        return True
    return "database is locked" in str(error)  # SQLite, after waiting its busy timeout


def atomic_with_retries(
    refusal: Callable[[str], Exception],
) -> Callable[[Callable[Params, Result]], Callable[Params, Result]]:
    """Decorate a service function: run it in one transaction, again if it loses a race, at most ATTEMPTS times.

    Called inside a transaction already open, it runs as part of that one: only the outermost
    transaction can be run again, so the function owning it carries the decorator too.
    `refusal(message)` is raised when the last attempt loses as well (an error its edge maps to 409).
    """

    def decorate(function: Callable[Params, Result]) -> Callable[Params, Result]:
        @functools.wraps(function)
        def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
            if transaction.get_connection().in_atomic_block:
                with transaction.atomic():  # a savepoint: a refusal still undoes only this
                    return function(*args, **kwargs)
            for attempt in range(1, ATTEMPTS):
                try:
                    with transaction.atomic():
                        return function(*args, **kwargs)
                except OperationalError as error:
                    if not lost_a_race(error):
                        raise
                    logger.info(
                        "%s lost a race (attempt %d of %d): %s", function.__qualname__, attempt, ATTEMPTS, error
                    )
                # Jittered: the two that collided should not start again at the same instant.
                time.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))  # noqa: S311
            try:
                with transaction.atomic():
                    return function(*args, **kwargs)
            except OperationalError as error:
                if lost_a_race(error):
                    logger.warning("%s lost a race %d times: refused", function.__qualname__, ATTEMPTS)
                    raise refusal(SOMEONE_ELSE) from error
                raise

        return run

    return decorate


def commit_without_waiting_for_disk() -> None:
    """Let the open transaction's commit return before it reaches the disk (PostgreSQL; elsewhere nothing).

    Only for rows that are a cache of something else (a lease, the knowledge that an IAM user
    exists): a database crash may lose the last such commits, which costs a repeated, idempotent
    step, never a wrong state. The rows are visible to other sessions at commit as usual.
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
