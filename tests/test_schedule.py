"""The periodic schedule: every entry names a task that exists, and every interval comes from the environment."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from portal.celery import app

ROOT = Path(__file__).resolve().parent.parent


def test_every_scheduled_task_is_registered():
    app.loader.import_default_modules()

    missing = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} - set(app.tasks)

    assert missing == set()


def test_every_task_sent_by_name_is_registered():
    from access.services import task_names
    from catalog.admin import CONNECT_TASK, IMPORT_TASK, RECONCILE_TASK
    from sod.services import EXCEPTION_EXPIRED_TASK

    app.loader.import_default_modules()
    named = {value for name, value in vars(task_names).items() if name.isupper()} | {
        IMPORT_TASK,
        CONNECT_TASK,
        RECONCILE_TASK,
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
        "print(json.dumps({k: v['schedule'] for k, v in settings.CELERY_BEAT_SCHEDULE.items()}))"
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
