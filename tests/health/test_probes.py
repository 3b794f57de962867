"""Health probes: /health/live says the process answers; /health/ready says whether the installation can work.

A load balancer probes a task by its address over plain HTTP: the probes answer it whatever the Host, with
the HTTPS redirect on, while every other path still refuses a Host it does not know. Readiness names each
check and why one fails: a stopped worker fails it, and it recovers when the worker is back.
"""

import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from portal.health import checks, heartbeat, probes
from portal.tasks import beat_heartbeat
from tests.iam.workers import no_other_worker_on

LOAD_BALANCER = {"HTTP_HOST": "10.0.0.7"}


@pytest.fixture
def production_edge(settings):
    """As in production: one host name, HTTPS enforced by redirect."""
    settings.ALLOWED_HOSTS = ["access.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.HEALTH_READY_CACHE_SECONDS = 0


@pytest.fixture
def fresh_probes(settings):
    settings.HEALTH_READY_CACHE_SECONDS = 0


def ready(client) -> tuple[int, dict]:
    answer = client.get("/health/ready", **LOAD_BALANCER)
    return answer.status_code, answer.json()


def failing(body: dict) -> dict:
    return {name: check["reason"] for name, check in body["checks"].items() if check["status"] != "ok"}


def test_live_answers_a_load_balancer_by_address_over_plain_http(client, production_edge):
    answer = client.get("/health/live", **LOAD_BALANCER)

    assert answer.status_code == 200
    assert answer.json() == {
        "probe": "live",
        "status": "ok",
        "checks": {"process": {"status": "ok", "seconds": answer.json()["checks"]["process"]["seconds"]}},
    }
    assert "no-cache" in answer["Cache-Control"]
    assert client.get("/healthz", **LOAD_BALANCER).json()["probe"] == "live", "the older path is the same probe"


def test_a_hostile_host_is_still_refused_everywhere_else(client, production_edge, db):
    assert client.get("/accounts/login/", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/health/live/", HTTP_HOST="evil.example").status_code == 400, "exactly the two paths"
    assert client.get("/health/livez", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/health/live/../../admin/", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="access.example.com").status_code == 301, "to HTTPS"


def test_ready_names_each_check_when_everything_answers(client, production_edge, celery_worker, db):
    beat_heartbeat.apply()  # as beat sends it

    status, body = ready(client)

    assert (status, body["status"], failing(body)) == (200, "ok", {})
    assert set(body["checks"]) == {
        "database",
        "cache",
        "broker",
        "worker:" + celery_worker.app.conf.task_default_queue,
        "worker:" + celery_worker.app.conf.task_default_queue + "-background",
        "beat",
        "migrations",
        "outbox",
    }


def test_ready_fails_while_beat_is_silent_and_says_so(client, production_edge, celery_worker, db, mailoutbox):
    cache.delete(heartbeat.key())
    assert failing(ready(client)[1])["beat"] == "no heartbeat from beat yet (it sends one every 60 s)"

    cache.set(heartbeat.key(), time.time() - 600)
    status, body = ready(client)

    assert status == 503
    assert failing(body) == {"beat": "beat's last heartbeat is 600 s old (it sends one every 60 s)"}
    assert mailoutbox == [], "an outage is for monitoring to report, not one error email per probe"


@pytest.mark.django_db(transaction=True)
def test_ready_fails_until_every_migration_is_applied(client, production_edge, celery_worker, monkeypatch):
    beat_heartbeat.apply()
    monkeypatch.setattr(checks, "_migrations_applied", checks.threading.Event())
    recorder = MigrationRecorder(connection)
    last = recorder.Migration.objects.filter(app="audit").latest("id")
    recorder.record_unapplied("audit", last.name)
    try:
        status, body = ready(client)
    finally:
        recorder.record_applied("audit", last.name)

    assert (status, failing(body)) == (503, {"migrations": f"1 migrations not applied, the first audit.{last.name}"})
    assert ready(client)[0] == 200


def wait_for(condition, seconds: float, what: str, worker):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds}s waiting until {what}; worker log:\n{worker.tail()}")
        time.sleep(0.5)
    return result


@pytest.mark.django_db(transaction=True)
def test_ready_fails_with_the_reason_when_the_worker_stops_and_recovers_when_it_is_back(
    client,
    production_edge,
    start_worker,
    settings,
):
    queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    beat_heartbeat.apply()
    with no_other_worker_on(queues[0]), no_other_worker_on(queues[1]):
        worker = start_worker("probed", queues=queues)
        wait_for(lambda: ready(client)[0] == 200, 120, "ready with the worker up", worker)

        worker.kill()
        status, body = ready(client)
        assert status == 503
        assert failing(body) == {
            f"worker:{queue}": f"no worker answered on queue {queue} within 1.5 s" for queue in queues
        }, "the rest still answers"

        again = start_worker("probed-again", queues=queues)
        wait_for(lambda: ready(client)[0] == 200, 120, "ready again with the worker back", again)


def test_the_command_form_exits_0_when_the_probe_passes_and_1_when_not(capsys, db):
    call_command("health", "live")
    assert '"status": "ok"' in capsys.readouterr().out

    cache.delete(heartbeat.key())
    with pytest.raises(SystemExit) as exited:
        call_command("health", "ready")

    assert exited.value.code == 1
    assert "no heartbeat from beat yet" in capsys.readouterr().out


def test_a_flood_of_readiness_probes_runs_the_checks_once_per_interval(client, settings, db, monkeypatch):
    settings.HEALTH_READY_CACHE_SECONDS = 60
    monkeypatch.setattr(probes, "_recent", {})
    runs, run = [], probes.run
    monkeypatch.setattr(probes, "run", lambda probe: runs.append(probe) or run(probe))

    statuses = {client.get("/health/ready", **LOAD_BALANCER).status_code for _ in range(5)}
    for _ in range(3):
        client.get("/health/live", **LOAD_BALANCER)

    assert len(statuses) == 1, "the same answer each time"
    assert runs == ["ready", "live", "live", "live"], "liveness always runs, and never waits for readiness"


@pytest.mark.django_db(transaction=True)
def test_ready_fails_when_a_task_has_waited_in_the_outbox_too_long_and_says_how_long(client, production_edge, settings):
    from django.utils import timezone

    from outbox.models import OutboxMessage

    settings.OUTBOX_MAX_AGE_SECONDS = 300
    now = timezone.now()
    later = now + timezone.timedelta(hours=1)  # not due: no relay sends them during the test
    OutboxMessage.objects.create(task_name="access.sync_grant", args=[1], created_at=now, next_attempt_at=later)
    assert ready(client)[1]["checks"]["outbox"]["status"] == "ok", "a fresh task is on its way"

    OutboxMessage.objects.create(
        task_name="access.sync_grant", args=[2], created_at=now - timezone.timedelta(minutes=12), next_attempt_at=later
    )
    status, body = ready(client)

    assert status == 503
    reason = failing(body)["outbox"]
    assert reason.startswith("the oldest of 2 tasks in the outbox has waited 72"), reason
    assert reason.endswith(" s for the broker (at most 300 s allowed)")

    OutboxMessage.objects.all().delete()  # the broker took them
    assert ready(client)[1]["checks"]["outbox"]["status"] == "ok"
