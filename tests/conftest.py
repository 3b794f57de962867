"""The cast and the real services every test talks to.

The cast: Alice is an engineer; Bob is her manager; Carol owns the Developers group;
Dave manages another team; Erin is a governance admin with no manager. Those who decide on
access (Bob, Carol, Dave, Erin) and Frank the auditor have an authenticator app, as the portal requires of them, and a
test client signed in with `force_login` counts as having just passed it (see
`_test_sign_ins_pass_the_second_factor`); `totp_code(person)` is what their app shows now.

Services: a moto server over HTTP stands in for AWS; a real Celery worker consumes the
broker named by REDIS_URL (or the filesystem transport when it is unset); the database is
the one DATABASE_URL names (SQLite otherwise).
"""

import os
import socket
import time
from contextlib import contextmanager

import pytest
import requests as http
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import connection, connections
from django.db.backends.signals import connection_created

# Tests must never reach a real AWS account, whatever credentials the machine has.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Benchmarks print figures and take minutes: only `make bench` (PORTAL_BENCH=1) collects them.
collect_ignore_glob = [] if os.environ.get("PORTAL_BENCH") else ["benchmarks/*"]

PASSWORD = "correct-horse-battery-staple"
SANDBOX_ACCOUNT_ID = "123456789012"


# CI runs the whole suite on PostgreSQL + Redis, then the concurrency and hostile-input suites again on
# SQLite (what `make run` uses): that second pass says so, and deselects the PostgreSQL-only tests.
SQLITE_PASS = bool(os.environ.get("PORTAL_TEST_ON_SQLITE"))


def pytest_sessionstart(session):
    if os.environ.get("CI") and not SQLITE_PASS:
        missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            pytest.exit(
                f"CI is set but {', '.join(missing)} is not: the suite must run on PostgreSQL and Redis.", returncode=1
            )


def pytest_sessionfinish(session, exitstatus):
    """Leave the shared Redis as found: drop this run's queue and its exchange bindings."""
    if not os.environ.get("REDIS_URL"):
        return
    import redis

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = list(client.scan_iter(match=f"*{queue}*", count=1000))
    if keys:
        client.delete(*keys)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords:
            item.fixturenames.append("_require_postgres")


@pytest.fixture
def _require_postgres(db):
    if connection.vendor != "postgresql":
        message = "this test needs PostgreSQL (set DATABASE_URL)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _flush_past_the_truncate_guard(execute, sql, params, many, context):
    """Django empties the database between transactional tests with one TRUNCATE of every table, which the
    audit trail's guard (audit/migrations/0004) refuses. A superuser may switch triggers off, and the test
    database belongs to the superuser the tests run as: the flush does so for its own transaction. Any
    other TRUNCATE (one naming fewer tables, as the guard's own test does) still meets the guard."""
    flush = sql.startswith("TRUNCATE ") and '"audit_auditevent"' in sql and sql.count('", "') > 2
    if not flush:
        return execute(sql, params, many, context)
    with context["connection"].connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    return execute(sql, params, many, context)


def _let_the_flush_through(sender=None, connection=None, **kwargs):
    if connection.vendor == "postgresql" and _flush_past_the_truncate_guard not in connection.execute_wrappers:
        connection.execute_wrappers.append(_flush_past_the_truncate_guard)


@pytest.fixture(autouse=True, scope="session")
def _transactional_tests_may_flush_the_audit_trail():
    # On every connection, not only this thread's: the browser tests' flush runs on a connection of
    # another context (Playwright's), opened after this fixture.
    connection_created.connect(_let_the_flush_through, dispatch_uid="tests.flush_past_the_truncate_guard")
    for each in connections.all():
        _let_the_flush_through(connection=each)
    yield
    connection_created.disconnect(dispatch_uid="tests.flush_past_the_truncate_guard")


@pytest.fixture(autouse=True)
def _audit_anchors_of_this_test(settings, tmp_path):
    """Each test's database starts empty, so its audit anchors (digests outside the database) start empty too."""
    settings.AUDIT_ANCHOR_DIR = tmp_path / "audit-anchors"
    settings.AUDIT_ANCHOR_BUCKET = ""


# --- simulated AWS -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    original = settings.AWS_ENDPOINT_URL
    settings.AWS_ENDPOINT_URL = url
    yield url
    settings.AWS_ENDPOINT_URL = original
    server.stop()


@pytest.fixture
def aws(moto_server, cast, sandbox):
    """A clean simulated account holding the cast's IAM users and the catalog's groups."""
    from iam.aws import gateway
    from iam.aws.gateway import account_access
    from iam.aws.identity import iam_user_name

    http.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    access = account_access(sandbox.account)
    for entitlement in sandbox.all:
        gateway.ensure_group(access, entitlement.aws_name)
    for person in cast.everyone:
        gateway.ensure_user(access, iam_user_name(person))
    return access


# --- Celery -----------------------------------------------------------------------------


_worker = {"running": False}


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real worker thread consuming this run's own queue on the configured broker."""
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
        _worker["running"] = True
        yield worker
        _worker["running"] = False


def wait_until_the_worker_is_idle(timeout: float = 30) -> None:
    """Both queues empty and nothing reserved or running, seen twice in a row (a message just fetched
    is in neither for a moment)."""
    from celery.worker import state

    from portal.celery import app

    queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    deadline, idle_seen = time.monotonic() + timeout, 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        while time.monotonic() < deadline and idle_seen < 2:
            waiting = sum(_waiting_in(connection, channel, name) for name in queues)
            idle = waiting == 0 and not state.active_requests and not state.reserved_requests
            idle_seen = idle_seen + 1 if idle else 0
            time.sleep(0.1)


def _waiting_in(connection, channel, queue: str) -> int:
    try:
        return channel.queue_declare(queue=queue, passive=True).message_count
    except connection.channel_errors:  # Redis keeps no empty list: a queue never used yet "does not exist"
        return 0


@pytest.fixture(autouse=True)
def _worker_idle_before_the_database_is_flushed(request):
    """A test whose changes commit (transactional, live server) queues tasks on commit; the session's
    worker may still be running one when the test ends, and flushing the tables under it deadlocks.
    Set up after the database fixture, so this waits before the flush."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    if "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    yield
    if transactional and _worker["running"]:
        wait_until_the_worker_is_idle()


@contextmanager
def tasks_queued():
    """The tasks the block queued through the outbox, as (task name, args) in order.

    For tests whose transaction never commits: the rows are still there when the block ends, nothing was
    sent. (Where the block commits, its rows are sent and deleted at once: follow the worker instead.)"""
    from django.db.models import Max

    from outbox.models import OutboxMessage

    before = OutboxMessage.objects.aggregate(last=Max("pk"))["last"] or 0
    queued: list[tuple[str, list]] = []
    yield queued
    rows = OutboxMessage.objects.filter(pk__gt=before).order_by("pk")
    queued += [(name, args) for name, args in rows.values_list("task_name", "args")]


# --- the cast ---------------------------------------------------------------------------


class Cast:
    def __init__(self, **people):
        self.__dict__.update(people)
        self.everyone = list(people.values())


@pytest.fixture
def cast(db, django_user_model):
    def person(email, name, **extra):
        return django_user_model.objects.create_user(email=email, password=PASSWORD, full_name=name, **extra)

    erin = person("erin@example.com", "Erin Admin", is_staff=True, is_superuser=True, department="Security")
    bob = person("bob@example.com", "Bob Manager", title="Engineering Manager", department="Engineering")
    alice = person("alice@example.com", "Alice Engineer", title="Engineer", department="Engineering", manager=bob)
    carol = person("carol@example.com", "Carol Owner", title="Platform Lead", department="Platform")
    dave = person("dave@example.com", "Dave Othermanager", title="Finance Manager", department="Finance")
    # Frank reports to Dave (which makes Dave a manager) and is an auditor: reads everything, changes nothing.
    frank = person("frank@example.com", "Frank Finance", department="Finance", manager=dave, is_auditor=True)
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    for decider in (bob, carol, dave, erin, frank):
        TOTP.activate(decider, generate_totp_secret())
    cast = Cast(alice=alice, bob=bob, carol=carol, dave=dave, erin=erin)
    cast.frank = frank  # not in `everyone`: he holds no AWS identity in the sandbox
    return cast


def own_address() -> str:
    """An address of this test run's own: allauth counts sign-ins per address in a cache that other
    test runs on this machine share, and must not count theirs as this run's."""
    pid = os.getpid()
    return f"10.{pid >> 8 & 255}.{pid & 255}.200"


def wait_for_a_fresh_period(period: int = 30, margin: float = 2.0) -> None:
    """Like a person who waits for the next code when the one shown is about to expire: a code read in
    the last moments of its period could be checked in the next one and fail."""
    left = period - time.time() % period
    if left < margin:
        time.sleep(left + 0.05)


def totp_code(person, *, steps_ahead: int = 0) -> str:
    """The code `person`'s authenticator app shows now (or `steps_ahead` periods from now)."""
    from allauth.mfa import app_settings
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from allauth.mfa.utils import decrypt

    authenticator = Authenticator.objects.get(user=person, type=Authenticator.Type.TOTP)
    wait_for_a_fresh_period(app_settings.TOTP_PERIOD)
    counter = int(time.time()) // app_settings.TOTP_PERIOD + steps_ahead
    return format_hotp_value(hotp_value(decrypt(authenticator.data["secret"]), counter))


def api_token(person, *, name: str = "script", second_factor: bool | None = None) -> str:
    """A token of `person`'s as `POST /api/token/` issues it: with their second factor when they have one."""
    from accounts.mfa import has_second_factor
    from accounts.tokens import issue_token

    proven = has_second_factor(person) if second_factor is None else second_factor
    return issue_token(person=person, name=name, second_factor=proven)[1]


def _prove_second_factor_at_test_sign_in(sender, request, user, **kwargs):
    """A test client's `force_login` stands for a full sign-in: password, then the authenticator app.

    Real sign-ins (a POST to the login page, the browser tests) record their own proof, so only the
    test client's stand-in request (no method) is given one, and only for people who have an app.
    """
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator

    if request.method is not None:
        return
    app = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if app is not None:
        record_authentication(request, user, "mfa", id=app.pk, type=app.type)


@pytest.fixture(autouse=True, scope="session")
def _test_sign_ins_pass_the_second_factor():
    # Django loads the middleware, and with it accounts.mfa's sign-in receiver, on a client's first
    # request; a test may sign in before that, so load it now.
    import accounts.mfa  # noqa: F401

    user_logged_in.connect(_prove_second_factor_at_test_sign_in, dispatch_uid="tests.force_login_mfa")
    yield
    user_logged_in.disconnect(dispatch_uid="tests.force_login_mfa")


class Sandbox:
    def __init__(self, account, developers, breakglass):
        self.account, self.developers, self.breakglass = account, developers, breakglass
        self.all = [developers, breakglass]


@pytest.fixture
def sandbox(cast):
    from catalog.models import AwsAccount, Entitlement

    account = AwsAccount.objects.create(account_id=SANDBOX_ACCOUNT_ID, name="Sandbox")
    developers = Entitlement.objects.create(
        account=account, aws_name="Developers", name="Developers", risk=Entitlement.Risk.LOW
    )
    breakglass = Entitlement.objects.create(
        account=account,
        aws_name="BreakGlass",
        name="Break-glass admins",
        risk=Entitlement.Risk.HIGH,
        requestable=False,
    )
    developers.owners.set([cast.carol])
    breakglass.owners.set([cast.erin])
    return Sandbox(account, developers, breakglass)


@pytest.fixture
def production_admin(cast, sandbox):
    """An IAM role for incidents: high risk, not in the catalog to ask for, held 1 to 8 hours; Carol owns it.

    Who may break glass for it is set by each test (access.services.break_glass.set_eligibility)."""
    from catalog.models import Entitlement

    entitlement = Entitlement.objects.create(
        account=sandbox.account,
        aws_name="ProductionAdmin",
        name="Production admin",
        kind=Entitlement.Kind.IAM_ROLE,
        risk=Entitlement.Risk.HIGH,
        requestable=False,
        duration_unit=Entitlement.DurationUnit.HOURS,
        min_duration=1,
        max_duration_hours=8,
    )
    entitlement.owners.set([cast.carol])
    return entitlement


@pytest.fixture
def client_for(client):
    def login(person):
        client.force_login(person)
        return client

    return login


# --- browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
