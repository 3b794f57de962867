"""The periodic schedule: every entry names a task that exists, and every interval comes from the environment."""

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
    from access.services import outbox
    from iam.imports import RUN_TASK
    from sod.services import EXCEPTION_EXPIRED_TASK

    app.loader.import_default_modules()
    named = {value for name, value in vars(outbox).items() if name.isupper()} | {
        RUN_TASK,
        EXCEPTION_EXPIRED_TASK,
    }

    assert named - set(app.tasks) == set()


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
