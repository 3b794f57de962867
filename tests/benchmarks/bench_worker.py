"""`celery worker` for the apply benchmark: the portal's worker, plus a tally of its SQL queries.

Run as `python -m tests.benchmarks.bench_worker <celery worker options>`. Each process (the
prefork children too) counts the queries its tasks run and writes the running total to
BENCH_COUNT_DIR/<pid> after every task, so the benchmark can add them up while the processes
still run. Nothing else differs from `celery -A portal worker`.
"""

import os
import sys
from pathlib import Path

from celery.signals import task_postrun, task_prerun
from django.db import connection

_queries = {"count": 0}


def _count(execute, sql, params, many, context):
    _queries["count"] += 1
    return execute(sql, params, many, context)


@task_prerun.connect
def _install(**kwargs) -> None:
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


@task_postrun.connect
def _write(**kwargs) -> None:
    # Written aside and renamed, so the benchmark never reads a file half-written.
    folder = Path(os.environ["BENCH_COUNT_DIR"])
    (folder / f".{os.getpid()}").write_text(str(_queries["count"]))
    (folder / f".{os.getpid()}").replace(folder / str(os.getpid()))


if __name__ == "__main__":
    from portal.celery import app

    app.worker_main(["worker", *sys.argv[1:]])
