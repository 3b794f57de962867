"""AWS calls of one sync batch made several at a time, in threads of the worker process.

A sync task spends most of its time waiting for AWS to answer. One call after another, AWS (or
the simulator) sits idle while the worker prepares and reads each call, and the worker sits idle
while AWS works; with a few people's grants in flight at once, each side works while the other
does. Threads, not more processes: the waiting releases the GIL, a thread costs no memory to
speak of, and the batch's claim, locks and record stay in the one task on its one connection.

The threads call AWS and nothing else. What uses the database runs in the calling thread, whose
connection holds the batch's advisory locks and sees its caller's transaction (`here`): Django
gives each thread a connection of its own, which a pool thread would open behind the task's back.
Each call runs in a copy of the caller's context, so `gateway.counting_calls` counts it.
"""

import contextvars
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def run_all(
    calls: Iterable[Callable[[], T]], *, threads: int, here: Iterable[Callable[[], T]] = ()
) -> Generator[T, None, None]:
    """Each of `calls`, up to `threads` at once; each of `here` in this thread meanwhile. Yields their results:
    those of `here` first, then those of `calls` in order. An exception is raised where its result would be.

    With one thread, or a single call, everything runs here one after the other, as plain calls.
    Closing the generator early (an exception in the caller, a task's soft time limit) cancels the
    calls not started and waits for those running, so none outlives the task.
    """
    calls, here = list(calls), list(here)
    if threads <= 1 or len(calls) <= 1:
        for call in (*here, *calls):
            yield call()
        return
    pool = ThreadPoolExecutor(max_workers=min(threads, len(calls)), thread_name_prefix="aws")
    try:
        futures = [pool.submit(_in_context(call)) for call in calls]
        for call in here:
            yield call()
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _in_context(call: Callable[[], T]) -> Callable[[], T]:
    context = contextvars.copy_context()

    def run() -> T:
        try:
            return context.run(call)
        finally:
            # Should a call reach the database after all, its connection is not left open in a thread about to end.
            connections.close_all()

    return run
