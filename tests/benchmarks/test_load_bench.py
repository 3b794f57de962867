"""Benchmark: the production shape under 8 concurrent clients, beside a bare view in the same run.

Issue 16's load test. The web is what `make serve` starts: `gunicorn portal.wsgi -c gunicorn.conf.py` with 3 sync
workers and the production settings (portal.settings: HTTPS behind a TLS-terminating proxy, JSON logs, connections
kept, the cache and the broker on Redis), on this run's own PostgreSQL database (pytest-django's, created and
dropped by the run) and Redis (REDIS_URL, with a queue and cache prefix of this run's, emptied at the end). No
worker consumes the queue: the tasks approvals send wait in Redis, as they would for a busy worker.

Seeded: BENCH_CLIENTS (8) managers, each with an authenticator app and a team of BENCH_TEAM (4) engineers who asked
for each of BENCH_ENTITLEMENTS (15) entitlements. Each client thread is one manager (Bob is the first) and one of
his engineers, each a `requests.Session` of its own, signed in through the real forms: the login page, then the
second-factor page with the code the manager's app shows; the manager's API token is created on the API-tokens
page, which his fresh second factor allows; the engineer's comes from `POST /api/token/` (no app, no code).

A round: the catalog, the new-request page, my requests (the engineer), the manager's inbox, approving one
request on the page (POST with the CSRF token), the API's lists (the engineer's requests, the manager's approvals),
approving another through the API, and the bare view (`/health/live`: Django's middleware and no query) twice.
Once all are signed in, Bob runs BENCH_ALONE_ROUNDS (10) rounds alone (what each page costs with no one waiting
for a web worker), then every thread runs BENCH_ROUNDS (20) rounds at once. Prints p50 and p95 of each alone and
under load, and each p95 under load as a multiple of the bare view's in the same phase.
Asserts every answer was the expected one and every decision was recorded.
"""

import functools
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from contextlib import suppress

import pytest
import redis
import requests
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connections

from access import services
from access.models import ApprovalAssignment
from accounts.models import User
from catalog.models import AwsAccount, Entitlement
from tests.conftest import PASSWORD, totp_code
from tests.iam.workers import database_url_of_this_run

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
TEAM = int(os.environ.get("BENCH_TEAM", "4"))
ENTITLEMENTS = int(os.environ.get("BENCH_ENTITLEMENTS", "15"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
ALONE_ROUNDS = int(os.environ.get("BENCH_ALONE_ROUNDS", "10"))
WEB_WORKERS = 3
HOST = "access.example.test"
BARE = "GET /health/live (bare view)"
GOOD_REASON = "Deploying the billing service for the Q4 release"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN_FIELD = re.compile(r'id="new-token-value" type="text" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, seconds: float, what: str, explain=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"gave up after {seconds}s waiting until {what}\n{explain()}")


class Gunicorn:
    """`gunicorn portal.wsgi -c gunicorn.conf.py` as the Procfile's `web` runs it, in its own process group."""

    def __init__(self, tmp_path, queue: str):
        self.port, self.log = free_port(), tmp_path / "gunicorn.log"
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            name: value
            for name, value in os.environ.items()
            # What the test settings put in this process's environment is not production's.
            if name not in ("PORTAL_HTTPS", "PORTAL_LOG_FORMAT", "PORTAL_TEST_DATABASE_NAME")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=database_url_of_this_run(),
            REDIS_URL=settings.REDIS_URL,
            PORTAL_CELERY_QUEUE=queue,
            PORTAL_CACHE_PREFIX=queue,
            # The key the seeded second factors were stored under (allauth encrypts with it).
            PORTAL_SECRET_KEY=settings.SECRET_KEY,
            PORTAL_ALLOWED_HOSTS=HOST,
            PORTAL_CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
            PORTAL_VAR_DIR=str(tmp_path / "var"),
            PORTAL_STATIC_FROM_FINDERS="false",
            PORTAL_EMAIL_URL=f"file://{tmp_path / 'mail'}",
            PORTAL_BIND=f"127.0.0.1:{self.port}",
            PORTAL_WEB_WORKERS=str(WEB_WORKERS),
            PORTAL_WEB_LOG_LEVEL="warning",
        )
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "-c", "gunicorn.conf.py"]
        with self.log.open("wb") as log:
            # As `make serve` does first: pages name the hashed files of the manifest collectstatic writes.
            collect = [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"]
            subprocess.run(collect, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT, check=True)
            self.process = subprocess.Popen(
                command, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self._live, 180, "gunicorn answers /health/live", explain=self.tail)

    def _live(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn stopped:\n{self.tail()}")
        try:
            return requests.get(f"{self.url}/health/live", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def workers(self) -> int:
        children = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
        with open(children) as listed:
            return len(listed.read().split())

    def stop(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


class Browser:
    """One person's `requests.Session`, reaching the portal as the proxy forwards it (Host, X-Forwarded-Proto)."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers.update({"Host": HOST, "X-Forwarded-Proto": "https", "Referer": f"https://{HOST}/"})

    def get(self, path: str, **kwargs):
        return self._behind_the_proxy(
            self.session.get(f"{self.base}{path}", timeout=120, allow_redirects=False, **kwargs)
        )

    def post(self, path: str, **kwargs):
        return self._behind_the_proxy(
            self.session.post(f"{self.base}{path}", timeout=120, allow_redirects=False, **kwargs)
        )

    def _behind_the_proxy(self, answer):
        """The browser speaks HTTPS to the TLS-terminating proxy, the proxy plain HTTP to gunicorn; this client
        stands for both, so the cookies the portal marks Secure go back on the plain hop."""
        for cookie in self.session.cookies:
            cookie.secure = False
        return answer

    def form_post(self, page: str, path: str, data: dict):
        """Open `page`, then submit a form of it to `path` with the page's CSRF token."""
        opened = self.get(page)
        assert opened.status_code == 200, (page, opened.status_code)
        return self.post(path, data={"csrfmiddlewaretoken": CSRF_FIELD.search(opened.text).group(1), **data})

    def sign_in(self, person, *, code=None) -> None:
        answer = self.form_post("/accounts/login/", "/accounts/login/", {"login": person.email, "password": PASSWORD})
        assert answer.status_code == 302, (person.email, answer.status_code, answer.text[:500])
        if code is not None:
            assert answer.headers["Location"].startswith("/accounts/2fa/authenticate/"), answer.headers["Location"]
            answer = self.form_post(answer.headers["Location"], "/accounts/2fa/authenticate/", {"code": code()})
            assert answer.status_code == 302, (person.email, answer.status_code, answer.text[:500])
        assert self.get("/requests/").status_code == 200, f"{person.email} is signed in"


@functools.cache
def production_password() -> str:
    """The cast's password hashed as production does (the test settings hash with MD5, which it refuses); hashed
    once, as it costs a good part of a second each time."""
    return PBKDF2PasswordHasher().encode(PASSWORD, secrets.token_hex(8))


def seed():
    """Managers with an app, each with a team who asked for every entitlement: (manager, engineer, request ids)."""
    account = AwsAccount.objects.create(account_id="123456789012", name="Sandbox")
    owner = User.objects.create(email="carol@example.com", full_name="Carol Owner", password=production_password())
    entitlements = []
    for number in range(1, ENTITLEMENTS + 1):
        entitlement = Entitlement.objects.create(
            account=account, aws_name=f"Team{number}", name=f"Team {number}", risk=Entitlement.Risk.LOW
        )
        entitlement.owners.set([owner])
        entitlements.append(entitlement)
    teams = []
    for number in range(1, CLIENTS + 1):
        email = "bob@example.com" if number == 1 else f"manager{number}@example.com"
        name = "Bob Manager" if number == 1 else f"Manager {number}"
        manager = User.objects.create(email=email, full_name=name, password=production_password())
        TOTP.activate(manager, generate_totp_secret())
        requests_of_team, engineers = [], []
        for member in range(1, TEAM + 1):
            engineer = User.objects.create(
                email=f"engineer{number}-{member}@example.com",
                full_name=f"Engineer {number}-{member}",
                manager=manager,
                password=production_password(),
            )
            engineers.append(engineer)
            for entitlement in entitlements:
                submitted = services.submit_request(
                    requester=engineer, entitlement=entitlement, justification=GOOD_REASON
                )
                requests_of_team.append(submitted.pk)
        teams.append((manager, engineers[0], requests_of_team))
    return entitlements, teams


def percentile(samples: list[float], fraction: float) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(fraction * 100) - 1]


@pytest.fixture
def production_web(transactional_db, tmp_path):
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql") or not settings.REDIS_URL:
        pytest.skip("the load test runs the production shape: set DATABASE_URL (PostgreSQL) and REDIS_URL")
    queue = f"portal-load-{os.getpid()}"
    web = Gunicorn(tmp_path, queue)
    try:
        yield web
    finally:
        web.stop()
        # This run's queued tasks and cache entries: all named after its queue (broker db and the next one).
        broker = redis.Redis.from_url(settings.REDIS_URL)
        database = broker.connection_pool.connection_kwargs.get("db", 0)
        for number in (database, database + 1):
            client = redis.Redis.from_url(settings.REDIS_URL, db=number)
            keys = list(client.scan_iter(match=f"*{queue}*", count=1000))
            if keys:
                client.delete(*keys)


@pytest.mark.timeout(3600)
def test_pages_and_api_under_eight_clients_beside_a_bare_view(production_web):
    web = production_web
    assert web.workers() == WEB_WORKERS, f"gunicorn runs {WEB_WORKERS} workers"
    assert TEAM * ENTITLEMENTS >= 2 * (ROUNDS + ALONE_ROUNDS), "each manager has a request to approve per approval"
    started = time.perf_counter()
    entitlements, teams = seed()
    print(
        f"\nseeded {CLIENTS} managers, {CLIENTS * TEAM} engineers, {CLIENTS * TEAM * ENTITLEMENTS} requests "
        f"in {time.perf_counter() - started:.1f}s"
    )

    alone: dict[str, list[float]] = defaultdict(list)
    loaded: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    failures: list[str] = []
    signed_in, loaded_from = (
        threading.Barrier(CLIENTS),
        threading.Barrier(CLIENTS, action=lambda: moments.append(time.perf_counter())),
    )
    moments: list[float] = []

    def client(number, manager, engineer, request_ids):
        try:
            boss, asker = Browser(web.url), Browser(web.url)
            boss.sign_in(manager, code=lambda: totp_code(manager))
            asker.sign_in(engineer)
            created = boss.form_post("/accounts/api-tokens/", "/accounts/api-tokens/new/", {"name": "load test"})
            assert created.status_code == 201, ("api token page", created.status_code)
            boss_api = {"Authorization": f"Token {TOKEN_FIELD.search(created.text).group(1)}"}
            issued = asker.post(
                "/api/token/", json={"email": engineer.email, "password": PASSWORD, "name": "load test"}
            )
            assert issued.status_code == 200, ("POST /api/token/", issued.status_code, issued.text[:300])
            asker_api = {"Authorization": f"Token {issued.json()['token']}"}
            entitlement = entitlements[0].pk
            to_decide = list(request_ids)

            def rounds(how_many, samples):
                def timed(name, expected, browser, method, path, **kwargs):
                    began = time.perf_counter()
                    answer = getattr(browser, method)(path, **kwargs)
                    elapsed = time.perf_counter() - began
                    assert answer.status_code == expected, (name, answer.status_code, answer.text[:300])
                    with lock:
                        samples[name].append(elapsed)
                    return answer

                for _ in range(how_many):
                    timed(BARE, 200, asker, "get", "/health/live")
                    timed("GET /catalog/", 200, asker, "get", "/catalog/")
                    timed("GET /catalog/<id>/request/", 200, asker, "get", f"/catalog/{entitlement}/request/")
                    timed("GET /requests/ (my requests)", 200, asker, "get", "/requests/")
                    inbox = timed("GET /approvals/ (inbox)", 200, boss, "get", "/approvals/")
                    form = {"csrfmiddlewaretoken": CSRF_FIELD.search(inbox.text).group(1), "comment": "ok"}
                    approve = f"/approvals/{to_decide.pop()}/approve/"
                    timed("POST /approvals/<id>/approve/", 302, boss, "post", approve, data=form)
                    timed(BARE, 200, asker, "get", "/health/live")
                    timed("GET /api/requests/", 200, asker, "get", "/api/requests/", headers=asker_api)
                    timed("GET /api/approvals/", 200, boss, "get", "/api/approvals/", headers=boss_api)
                    approve = f"/api/requests/{to_decide.pop()}/approve/"
                    timed(
                        "POST /api/requests/<id>/approve/",
                        200,
                        boss,
                        "post",
                        approve,
                        json={"comment": "ok"},
                        headers=boss_api,
                    )

            signed_in.wait(timeout=600)
            if number == 0:  # Bob alone first: what each page costs with no one waiting for a worker
                rounds(ALONE_ROUNDS, alone)
            loaded_from.wait(timeout=600)
            rounds(ROUNDS, loaded)
        except BaseException as failed:  # reported below with the thread's person
            signed_in.abort()
            loaded_from.abort()
            with lock:
                failures.append(f"{manager.email}: {failed!r}")
        finally:
            connections.close_all()  # this thread's, opened to read the app's code: the database is dropped after

    threads = [threading.Thread(target=client, args=(number, *team)) for number, team in enumerate(teams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, "\n".join(failures) + "\n" + web.tail()
    elapsed = time.perf_counter() - moments[0]

    total = sum(len(values) for values in loaded.values())
    print(
        f"\nproduction shape: gunicorn {WEB_WORKERS} sync workers, portal.settings, PostgreSQL, Redis, "
        f"{os.cpu_count()} cores. One client alone ({ALONE_ROUNDS} rounds), then {CLIENTS} client threads at once "
        f"({ROUNDS} rounds each: {total} requests in {elapsed:.1f}s, {total / elapsed:.0f}/s)"
    )
    print(f"{'':34} {'alone p50':>9} {'p95':>6} | {'8 clients p50':>13} {'p95':>6} {'p95 / bare':>10}")
    bare_p95 = percentile(loaded[BARE], 0.95)
    for name, values in loaded.items():
        p50, p95 = percentile(values, 0.50), percentile(values, 0.95)
        alone_p50, alone_p95 = percentile(alone[name], 0.50), percentile(alone[name], 0.95)
        print(
            f"{name:34} {alone_p50 * 1000:>9.0f} {alone_p95 * 1000:>6.0f} | {p50 * 1000:>13.0f} {p95 * 1000:>6.0f} "
            f"{p95 / bare_p95:>9.1f}x"
        )

    votes = ApprovalAssignment.objects.filter(
        approver__in=[manager for manager, _, _ in teams], decision=ApprovalAssignment.Decision.APPROVED
    )
    assert votes.count() == 2 * (CLIENTS * ROUNDS + ALONE_ROUNDS), "every approval answered is recorded"
