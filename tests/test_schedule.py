"""The periodic schedule: every entry names a task that exists, intervals and the nightly jobs' crontab times
come from the environment, and of two beats only the one holding the lock schedules."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from celery.schedules import crontab
from django.conf import settings

from portal.celery import app

ROOT = Path(__file__).resolve().parent.parent


def test_every_scheduled_task_is_registered():
    app.loader.import_default_modules()

    missing = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} - set(app.tasks)

    assert missing == set()


def test_every_task_sent_by_name_is_registered():
    from access.services import task_names
    from iam.catalog_import.import_runs import RUN_TASK
    from sod.services import EXCEPTION_EXPIRED_TASK

    app.loader.import_default_modules()
    named = {value for name, value in vars(task_names).items() if name.isupper()} | {
        RUN_TASK,
        EXCEPTION_EXPIRED_TASK,
    }

    assert named - set(app.tasks) == set()


def test_every_task_named_where_it_is_queued_is_registered():
    """Every send goes through the outbox: a name written out in an `enqueue` call must be a task."""
    app.loader.import_default_modules()
    written = set()
    for source in ROOT.glob("*/**/*.py"):
        if source.parts[len(ROOT.parts)] in {"tests", ".venv", "node_modules"}:
            continue
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            called = isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"enqueue", "enqueue_each"}
            if called and node.args and isinstance(node.args[0], ast.Constant):
                written.add(node.args[0].value)

    assert written and written - set(app.tasks) == set()


def test_intervals_are_read_from_the_environment():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "PORTAL_EXPIRE_GRANTS_SECONDS": "120",
        "PORTAL_ESCALATION_CHECK_SECONDS": "600",
    }
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps({k: v['schedule'] for k, v in settings.CELERY_BEAT_SCHEDULE.items() "
        "if isinstance(v['schedule'], float)}))"
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    schedule = json.loads(result.stdout.strip().splitlines()[-1])
    assert (schedule["expire-grants"], schedule["escalate-overdue-approvals"]) == (120.0, 600.0)


def schedule_in_a_process(**variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test", **variables}
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps({k: repr(v['schedule']) for k, v in settings.CELERY_BEAT_SCHEDULE.items()}))"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nightly_jobs_run_at_crontab_times_not_intervals_from_beats_start():
    nightly = {
        name: entry["schedule"]
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if isinstance(entry["schedule"], crontab)
    }

    assert {name: (schedule.hour, schedule.minute) for name, schedule in nightly.items()} == {
        "discover-organization": ({0}, {45}),  # new accounts before the night's reads
        "refresh-entitlement-permissions": ({1}, {15}),
        "summarise-grant-activity": ({1}, {30}),
        "sod-nightly-scan": ({2}, {30}),  # after the policies it judges are read again
        "posture-daily-scan": ({3}, {0}),
    }
    intervals = [entry["schedule"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if name not in nightly]
    assert all(isinstance(every, float) and every <= 3600 for every in intervals), "the rest run within the hour"


def test_a_nightly_time_is_read_from_the_environment():
    result = schedule_in_a_process(PORTAL_SOD_SCAN_CRONTAB="45 4 * * 1-5")

    schedule = json.loads(result.stdout.strip().splitlines()[-1])
    assert schedule["sod-nightly-scan"] == "<crontab: 45 4 * * 1-5 (m/h/dM/MY/d)>"


def test_a_malformed_crontab_or_a_replaced_interval_stops_start_up_naming_the_variable():
    malformed = schedule_in_a_process(PORTAL_POSTURE_SCAN_CRONTAB="0 25 * * *")
    replaced = schedule_in_a_process(PORTAL_SOD_SCAN_SECONDS="86400")

    assert "PORTAL_POSTURE_SCAN_CRONTAB is not a valid crontab line ('0 25 * * *')" in malformed.stderr
    assert "PORTAL_SOD_SCAN_SECONDS is replaced by PORTAL_SOD_SCAN_CRONTAB" in replaced.stderr
