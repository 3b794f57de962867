"""GET /metrics: Prometheus figures for the monitoring system only, never for a person's session.

Off (404) until PORTAL_METRICS_TOKEN or PORTAL_METRICS_ALLOWED_NETWORKS is set; then for the bearer
token or a client address in those networks (after the trusted proxies, as everywhere), 403 otherwise.
"""

import ipaddress
import re
import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.models import Grant
from iam.models import UnmanagedAccess
from outbox.models import OutboxMessage
from portal import metrics
from portal.health import heartbeat
from reviews.models import Campaign
from tests.observability import probe_urls

TOKEN = "metrics-token-of-the-monitoring-system-2026"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.20.0.0/16")]


def scrape(client=None, **headers):
    return (client or Client()).get("/metrics", **headers)


def gauge(body: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", body, re.M)
    assert match, f"{name}{labels} not in the metrics"
    return float(match[1])


@pytest.mark.django_db
def test_metrics_are_off_until_a_token_or_network_is_set():
    assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer not-the-token"},
        {"HTTP_AUTHORIZATION": f"Token {TOKEN}"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN[:-1]}"},
        # No proxy is trusted (PORTAL_TRUSTED_PROXIES=0): a forwarded address claimed by the caller counts for nothing.
        {"HTTP_X_FORWARDED_FOR": "10.20.0.5"},
    ],
)
def test_without_the_token_or_an_allowed_address_metrics_are_refused(metrics_on, headers):
    assert scrape(**headers).status_code == 403


def test_a_signed_in_governance_admin_is_refused_too(metrics_on, cast, client_for):
    assert scrape(client_for(cast.erin)).status_code == 403


@pytest.mark.django_db
def test_the_token_or_an_allowed_network_may_scrape(metrics_on):
    by_token = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    by_network = scrape(REMOTE_ADDR="10.20.3.4")

    assert by_token.status_code == by_network.status_code == 200
    assert by_token["Content-Type"].startswith("text/plain; version=")
    body = by_token.content.decode()
    assert "django_http_requests_total_by_method_total" in body  # django-prometheus: HTTP
    assert "django_db_execute_total" in body  # and the database


def test_the_portals_own_gauges_read_the_database(metrics_on, cast, sandbox):
    now = timezone.now()
    waiting = Grant.objects.create(
        user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN, granted_at=now
    )
    Grant.objects.filter(pk=waiting.pk).update(created_at=now - timezone.timedelta(hours=2))
    Grant.objects.filter(pk=waiting.pk).update(granted_at=now - timezone.timedelta(minutes=10))
    Grant.objects.create(
        user=cast.bob, entitlement=sandbox.developers, source=Grant.Source.ADMIN, sync_state=Grant.SyncState.FAILED
    )
    UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind="iam_group",
        aws_principal="mallory",
        aws_name="Admins",
        first_seen=now,
        last_seen=now,
    )
    campaign = Campaign.objects.create(
        name="Q4", owner=cast.erin, state=Campaign.State.ACTIVE, due_at=now, population_count=1200
    )

    body = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    assert gauge(body, "portal_grants_waiting_to_sync") == 1
    assert 595 <= gauge(body, "portal_grant_sync_oldest_wait_seconds") <= 660  # since it was granted
    assert gauge(body, "portal_grants_sync_failed") == 1
    assert gauge(body, "portal_reconcile_drift_open") == 1
    assert gauge(body, "portal_campaign_lines", f'{{campaign="{campaign.pk}"}}') == 1200
    assert gauge(body, "portal_campaign_undecided_lines", f'{{campaign="{campaign.pk}"}}') == 0


def test_beats_heartbeat_age_is_reported_once_there_is_one(metrics_on, db):
    cache.delete(heartbeat.key())  # as before beat's first run
    assert "portal_beat_heartbeat_age_seconds" not in scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    heartbeat.record()

    body = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert 0 <= gauge(body, "portal_beat_heartbeat_age_seconds") < 60


def test_a_scrape_costs_the_same_few_queries_however_much_there_is(metrics_on, cast, django_assert_max_num_queries):
    for name in ("Q1", "Q2", "Q3"):
        Campaign.objects.create(name=name, owner=cast.erin, state=Campaign.State.ACTIVE, due_at=timezone.now())

    # waiting, oldest, failed, drift, outbox waiting and oldest, the active campaigns, and one count per campaign.
    with django_assert_max_num_queries(7 + 3):
        assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_the_outbox_backlog_is_counted_with_the_age_of_its_oldest_task(metrics_on, db):
    now = timezone.now()
    body = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert gauge(body, "portal_outbox_waiting") == gauge(body, "portal_outbox_oldest_wait_seconds") == 0

    later = now + timezone.timedelta(hours=1)  # not due: nothing sends them during the test
    OutboxMessage.objects.create(task_name="access.sync_grant", args=[1], created_at=now, next_attempt_at=later)
    OutboxMessage.objects.create(
        task_name="access.sync_grant", args=[2], created_at=now - timezone.timedelta(minutes=7), next_attempt_at=later
    )

    body = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    assert gauge(body, "portal_outbox_waiting") == 2
    assert 420 <= gauge(body, "portal_outbox_oldest_wait_seconds") <= 480


def test_the_oldest_waits_are_one_ordered_row_each_not_a_read_of_every_waiting_row(cast, sandbox):
    for person in (cast.alice, cast.bob, cast.carol):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    OutboxMessage.objects.create(task_name="access.sync_grant", args=[1])

    with CaptureQueriesContext(connection) as grants:
        metrics._oldest_wait_seconds(timezone.now())
    with CaptureQueriesContext(connection) as outbox:
        metrics.backlog.oldest_age_seconds(timezone.now())

    for captured in (grants, outbox):
        assert len(captured) == 1
        sql = captured[0]["sql"].upper()
        assert sql.rstrip().endswith("LIMIT 1") and "ORDER BY" in sql and "MIN(" not in sql


@pytest.mark.postgres  # the plan is PostgreSQL's
def test_the_oldest_waits_are_read_through_their_indexes(cast, sandbox):
    for person in (cast.alice, cast.bob):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    with connection.cursor() as cursor:
        # A table this small is cheaper to scan: tell the planner to find the index it would use at size.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plans = {}
        for name, plan_of in {
            "grant_waiting_since": lambda now: metrics._oldest_wait_seconds(now),
            "outbox_by_age": lambda now: metrics.backlog.oldest_age_seconds(now),
        }.items():
            with CaptureQueriesContext(connection) as captured:
                plan_of(timezone.now())
            query = captured[0]
            cursor.execute("EXPLAIN " + query["sql"])
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())

    for index, plan in plans.items():
        assert index in plan, plan
        assert "Sort" not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_task_runtimes_are_measured_in_the_worker(celery_worker, metrics_on, settings):
    settings.ROOT_URLCONF = probe_urls.__name__
    series = 'portal_task_runtime_seconds_count{outcome="SUCCESS",task="tests.observability.say_hello"}'
    before = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    ran_before = gauge(before, series) if series in before else 0

    Client().get(f"/__probe__/send/?marker={uuid.uuid4().hex}")

    deadline, ran = time.monotonic() + 60, ran_before
    while ran == ran_before and time.monotonic() < deadline:
        body = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        ran = gauge(body, series) if series in body else 0
        time.sleep(0.1)
    assert ran == ran_before + 1
