"""Benchmark: grants applied by the portal's worker processes against the same AWS work in a bare boto3 loop.

Run with `make bench` (needs PostgreSQL and Redis: DATABASE_URL, REDIS_URL). The mix, as in
issue 22: BENCH_GRANTS (1,000) approved grants for BENCH_PEOPLE (300) people, half of them
new to IAM, over three accounts (the portal's own, and two reached by AssumeRole): IAM group
memberships, managed policies, roles, and an Identity Center permission set.

Three runs on one moto server, counted at the server (every HTTP request but moto's own API):
- the portal with one worker process at concurrency 1;
- the portal with the README's recommended command, read from the Procfile's `sync` line (its
  concurrency unless BENCH_CONCURRENCY is set, its prefetch), each process applying
  PORTAL_GRANT_SYNC_THREADS people's grants at once (as in production: the settings' default);
- a bare sequential boto3 loop making the calls the grants need: AssumeRole once per account,
  CreateUser once per new person and account, then the change and its read-back per grant.
The portal's workers run with the production settings (portal.settings, connections kept)
on the test database. The grants are queued first (their messages wait in the queue); each
portal run is timed from the worker's start (its "ready", after its imports, printed apart) to
the last grant read back and recorded. People
who already have IAM users were seen by a reconcile of each account before (as every account is
reconciled when connected and every 15 minutes), so the portal knows them.

Prints grants/s, the ratio to the bare loop, AWS calls (and failed calls) per grant, SQL queries
and CPU per grant (all the worker processes; the bare loop's own thread), and failed grants.
Asserts only that every grant was applied.
"""

import collections
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import redis
import requests as http
from botocore.config import Config
from django.conf import settings
from django.db import transaction
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from access import services
from access.models import Grant
from catalog.models import AwsAccount, Entitlement
from iam.reconcile import reconcile
from tests.iam.workers import WorkerProcess, database_url_of_this_run

GRANTS = int(os.environ.get("BENCH_GRANTS", "1000"))
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "300"))
GOOD_REASON = "Deploying the billing service for the Q4 release"
OWN_ACCOUNT, ROLE_ACCOUNTS = "123456789012", ("210987654321", "345678901234")
PORTAL_ROLE = "portal-access"
GROUPS, POLICIES, ROLES = ("Developers", "Deployers"), ("BillingRead", "LogsRead"), ("Operator",)
POLICY_DOCUMENT = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:Get*","Resource":"*"}]}'
TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'


class CountingMoto:
    """A moto server (as ThreadedMotoServer runs it) counting the AWS requests it answers, and the failed ones."""

    def __init__(self):
        self.calls, self.errors = 0, 0
        self._lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", 0, self._count(app), threaded=True, request_handler=MotoRequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _count(self, app):
        def counted(environ, start_response):
            if environ.get("PATH_INFO", "").startswith("/moto-api"):
                return app(environ, start_response)

            def start(status, headers, *args):
                with self._lock:
                    self.calls += 1
                    self.errors += int(status.split()[0]) >= 400
                return start_response(status, headers, *args)

            return app(environ, start)

        return counted

    def reset_counts(self) -> None:
        with self._lock:
            self.calls, self.errors = 0, 0

    def reset(self) -> None:
        http.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


@dataclass
class World:
    """What one run works on: accounts, entitlements, people and who is new."""

    accounts: dict = field(default_factory=dict)  # account id -> AwsAccount
    entitlements: list = field(default_factory=list)
    instance_arn: str = ""
    store_id: str = ""
    people: list = field(default_factory=list)  # user names
    new: set = field(default_factory=set)
    plan: list = field(default_factory=list)  # (user name, entitlement index), in queue order


def clients(url: str, account_id: str) -> dict:
    """Boto3 clients into one account: its own credentials, or an assumed role (as the portal does)."""
    config = Config(region_name="us-east-1", retries={"mode": "standard", "total_max_attempts": 5})
    kwargs = {"endpoint_url": url, "config": config}
    if account_id != OWN_ACCOUNT:
        sts = boto3.client("sts", **kwargs)
        role = f"arn:aws:iam::{account_id}:role/{PORTAL_ROLE}"
        credentials = sts.assume_role(RoleArn=role, RoleSessionName="bench")["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    else:
        session = boto3.Session()
    return {name: session.client(name, **kwargs) for name in ("iam", "sso-admin", "identitystore")}


def build_aws(moto: CountingMoto, prefix: str) -> World:
    """Fill moto: per account its groups, policies and role, the existing people's IAM users; Identity Center."""
    moto.reset()
    world = World()
    world.people = [f"{prefix}{number:04d}" for number in range(PEOPLE)]
    world.new = set(world.people[::2])
    for account_id in (OWN_ACCOUNT, *ROLE_ACCOUNTS):
        aws = clients(moto.url, account_id)
        for group in GROUPS:
            aws["iam"].create_group(GroupName=group)
        for policy in POLICIES:
            aws["iam"].create_policy(PolicyName=policy, PolicyDocument=POLICY_DOCUMENT)
        for role in ROLES:
            aws["iam"].create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
        for name in world.people:
            if name not in world.new:
                aws["iam"].create_user(UserName=name)
    sso = clients(moto.url, OWN_ACCOUNT)
    instance = sso["sso-admin"].list_instances()["Instances"][0]
    world.instance_arn, world.store_id = instance["InstanceArn"], instance["IdentityStoreId"]
    permission_set = sso["sso-admin"].create_permission_set(Name="ReadOnly", InstanceArn=world.instance_arn)
    for name in world.people:
        sso["identitystore"].create_user(
            IdentityStoreId=world.store_id,
            UserName=name,
            DisplayName=name,
            Name={"GivenName": name, "FamilyName": "Bench"},
            Emails=[{"Value": f"{name}@example.com", "Primary": True}],
        )
    world.entitlements = [
        *(
            (account_id, kind, aws_name)
            for account_id in (OWN_ACCOUNT, *ROLE_ACCOUNTS)
            for kind, aws_name in (
                *((Entitlement.Kind.IAM_GROUP, group) for group in GROUPS),
                *((Entitlement.Kind.IAM_POLICY, f"arn:aws:iam::{account_id}:policy/{p}") for p in POLICIES),
                *((Entitlement.Kind.IAM_ROLE, role) for role in ROLES),
            )
        ),
        (OWN_ACCOUNT, Entitlement.Kind.SSO_PERMISSION_SET, permission_set["PermissionSet"]["PermissionSetArn"]),
    ]
    # Person i gets GRANTS / PEOPLE entitlements (a few one more), distinct, spread over the catalog.
    count = len(world.entitlements)
    for index, name in enumerate(world.people):
        share = GRANTS // PEOPLE + (index < GRANTS % PEOPLE)
        world.plan += [(name, (index * 7 + step * 5) % count) for step in range(share)]
    return world


def portal_catalog(world: World, cast) -> list[Entitlement]:
    """The accounts (two by AssumeRole) and entitlements in the portal, matching this run's AWS."""
    entitlements = []
    for account_id in (OWN_ACCOUNT, *ROLE_ACCOUNTS):
        role_arn = "" if account_id == OWN_ACCOUNT else f"arn:aws:iam::{account_id}:role/{PORTAL_ROLE}"
        account, _ = AwsAccount.objects.update_or_create(
            account_id=account_id,
            defaults={"name": f"Bench {account_id}", "role_arn": role_arn, "create_iam_users": True},
        )
        if account_id == OWN_ACCOUNT:
            account.sso_instance_arn = world.instance_arn
            account.save(update_fields=["sso_instance_arn"])
        world.accounts[account_id] = account
    for number, (account_id, kind, aws_name) in enumerate(world.entitlements):
        entitlement, _ = Entitlement.objects.get_or_create(
            account=world.accounts[account_id],
            kind=kind,
            aws_name=aws_name,
            defaults={"name": f"Bench {number} {aws_name[-24:]}", "risk": Entitlement.Risk.LOW},
        )
        entitlement.owners.set([cast.carol])
        entitlements.append(entitlement)
    return entitlements


@dataclass
class Figures:
    label: str
    seconds: float
    calls: int
    errors: int
    failed: int
    cpu: float
    queries: int | None = None
    start_up: float = 0.0  # the worker process's start until it consumes (imports, connections)
    aws_cpu: float = 0.0  # the moto server's CPU (this process's, but the thread timing or polling)

    def line(self, bare: "Figures | None") -> str:
        ratio = f"{bare.seconds / self.seconds:5.2f}" if bare else " 1.00"
        queries = f"{self.queries / GRANTS:5.1f}" if self.queries is not None else "    -"
        return (
            f"{self.label:<44} {self.seconds:7.2f} s {GRANTS / self.seconds:7.1f}/s  x{ratio}  "
            f"{self.calls:6d} calls {self.calls / GRANTS:5.2f}/grant ({self.errors} failed)  "
            f"SQL {queries}/grant  CPU {1000 * self.cpu / GRANTS:6.1f} ms/grant  "
            f"moto CPU {1000 * self.aws_cpu / GRANTS:5.1f} ms/grant  failed grants {self.failed}"
            + (f"  (+{self.start_up:.1f} s worker start-up)" if self.start_up else "")
        )


def process_group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the live processes of a process group (a worker and its children)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ... utime (11), stime (12)
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def recommended_command() -> tuple[int, int]:
    """The sync worker's concurrency and prefetch multiplier as the Procfile runs it (the README's command)."""
    procfile = (Path(settings.BASE_DIR) / "Procfile").read_text()
    line = next(line for line in procfile.splitlines() if line.startswith("sync:"))
    concurrency = re.search(r"--concurrency \"\$\{PORTAL_SYNC_CONCURRENCY:-(\d+)\}\"", line)
    prefetch = re.search(r"--prefetch-multiplier (\d+)", line)
    assert concurrency and prefetch, f"the Procfile's sync line no longer reads as expected: {line}"
    return int(os.environ.get("BENCH_CONCURRENCY", concurrency[1])), int(prefetch[1])


def run_portal(label, moto, cast, django_user_model, tmp_path, concurrency: int, prefetch: int = 1) -> Figures:
    # moto is reset for each run: an earlier run's grants would be missing there, and re-applied by the reconcile.
    Grant.objects.all().delete()
    world = build_aws(moto, f"{label[0]}{concurrency}p")
    entitlements = portal_catalog(world, cast)
    people = {
        name: django_user_model.objects.create_user(email=f"{name}@example.com", full_name=name, manager=cast.bob)
        for name in world.people
    }
    for account in world.accounts.values():  # what connecting the accounts did: the portal knows their users
        reconcile.reconcile_account(account.pk, mode=AwsAccount.SyncMode.REPORT)
    counts = tmp_path / f"queries-{label}"
    counts.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",  # production settings: connections kept between tasks
        "DATABASE_URL": database_url_of_this_run(),
        "REDIS_URL": settings.REDIS_URL,
        "PORTAL_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "PORTAL_SECRET_KEY": settings.SECRET_KEY,
        "PORTAL_VAR_DIR": str(tmp_path / f"var-{label}"),
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BENCH_COUNT_DIR": str(counts),
        "PYTHONUNBUFFERED": "1",  # the log read while the worker runs is complete
    }
    with transaction.atomic():  # the syncs are queued when this commits, before the worker starts
        for name, index in world.plan:
            services.grant_by_admin(
                actor=cast.erin, user=people[name], entitlement=entitlements[index], justification=GOOD_REASON
            )
    grant_ids = list(Grant.objects.filter(user__in=people.values()).values_list("pk", flat=True))
    moto.reset_counts()
    launched = time.perf_counter()
    worker = WorkerProcess(
        label, env, tmp_path, concurrency, module="tests.benchmarks.bench_worker", prefetch_multiplier=prefetch
    )
    try:
        while b"ready." not in worker.log.read_bytes():
            assert time.perf_counter() - launched < 120, f"the worker did not start:\n{worker.tail()}"
            time.sleep(0.01)
        started, moto_before = time.perf_counter(), time.process_time() - time.thread_time()
        cpu_before = process_group_cpu(worker.process.pid)  # its start-up (imports) is not per-grant work
        states = wait_until_settled(grant_ids, worker)
        seconds = time.perf_counter() - started
        cpu = process_group_cpu(worker.process.pid) - cpu_before
        aws_cpu = time.process_time() - time.thread_time() - moto_before
        calls, errors = moto.calls, moto.errors
        queries = sum(int(path.read_text()) for path in counts.glob("[0-9]*"))
    finally:
        worker.kill()
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        # Messages whose grants an earlier batch took, and the notifications nobody consumes here.
        redis.Redis.from_url(settings.REDIS_URL).delete(queue, f"{queue}-background")
    figures = Figures(label, seconds, calls, errors, states[Grant.SyncState.FAILED], cpu, queries)
    figures.start_up, figures.aws_cpu = started - launched, aws_cpu
    assert len(grant_ids) == GRANTS
    return figures


def wait_until_settled(grant_ids, worker: WorkerProcess) -> collections.Counter:
    deadline = time.monotonic() + 1500
    waiting = (Grant.SyncState.PENDING, Grant.SyncState.IN_PROGRESS)
    while Grant.objects.filter(pk__in=grant_ids, sync_state__in=waiting).exists():
        assert time.monotonic() < deadline, f"grants still syncing; worker log:\n{worker.tail()}"
        time.sleep(0.05)
    return collections.Counter(Grant.objects.filter(pk__in=grant_ids).values_list("sync_state", flat=True))


def run_bare(moto: CountingMoto) -> Figures:
    """The same grants by a plain sequential boto3 loop: the calls they need, nothing else."""
    world = build_aws(moto, "bare")
    moto.reset_counts()
    cpu_started, started, moto_before = time.thread_time(), time.perf_counter(), time.process_time()
    aws = {account_id: clients(moto.url, account_id) for account_id in (OWN_ACCOUNT, *ROLE_ACCOUNTS)}
    created, sso_users = set(), {}
    for name, index in world.plan:
        account_id, kind, aws_name = world.entitlements[index]
        iam = aws[account_id]["iam"]
        if kind != Entitlement.Kind.SSO_PERMISSION_SET and name in world.new and (account_id, name) not in created:
            iam.create_user(UserName=name)
            created.add((account_id, name))
        if kind == Entitlement.Kind.IAM_GROUP:
            iam.add_user_to_group(GroupName=aws_name, UserName=name)
            pages = iam.get_paginator("list_groups_for_user").paginate(UserName=name)
            assert aws_name in {group["GroupName"] for page in pages for group in page["Groups"]}
        elif kind == Entitlement.Kind.IAM_POLICY:
            iam.attach_user_policy(UserName=name, PolicyArn=aws_name)
            pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
            assert aws_name in {policy["PolicyArn"] for page in pages for policy in page["AttachedPolicies"]}
        elif kind == Entitlement.Kind.IAM_ROLE:
            role_arn = iam.get_role(RoleName=aws_name)["Role"]["Arn"]
            document = (
                '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
                f'"Resource":"{role_arn}"}}]}}'
            )
            iam.put_user_policy(UserName=name, PolicyName=f"portal-assume-{aws_name}", PolicyDocument=document)
            iam.get_user_policy(UserName=name, PolicyName=f"portal-assume-{aws_name}")
        else:
            sso = aws[account_id]
            if name not in sso_users:
                identifier = {"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": name}}
                sso_users[name] = sso["identitystore"].get_user_id(
                    IdentityStoreId=world.store_id, AlternateIdentifier=identifier
                )["UserId"]
            target = {"TargetId": account_id, "TargetType": "AWS_ACCOUNT", "PermissionSetArn": aws_name}
            principal = {"PrincipalType": "USER", "PrincipalId": sso_users[name]}
            status = sso["sso-admin"].create_account_assignment(InstanceArn=world.instance_arn, **target, **principal)
            if status["AccountAssignmentCreationStatus"]["Status"] == "IN_PROGRESS":
                sso["sso-admin"].describe_account_assignment_creation_status(
                    InstanceArn=world.instance_arn,
                    AccountAssignmentCreationRequestId=status["AccountAssignmentCreationStatus"]["RequestId"],
                )
            pages = sso["sso-admin"].get_paginator("list_account_assignments_for_principal")
            listing = pages.paginate(InstanceArn=world.instance_arn, Filter={"AccountId": account_id}, **principal)
            assert any(row["PermissionSetArn"] == aws_name for page in listing for row in page["AccountAssignments"])
    seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    figures = Figures("bare boto3 loop (sequential)", seconds, moto.calls, moto.errors, 0, cpu)
    figures.aws_cpu = time.process_time() - moto_before - cpu
    return figures


@pytest.fixture
def counting_moto(settings):
    moto = CountingMoto()
    settings.AWS_ENDPOINT_URL = moto.url
    yield moto
    moto.stop()


@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)
def test_portal_applies_grants_at_close_to_bare_boto3_speed(cast, counting_moto, django_user_model, tmp_path):
    if not (settings.REDIS_URL and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")):
        pytest.skip("the apply benchmark runs worker processes: set DATABASE_URL (PostgreSQL) and REDIS_URL")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    solo = run_portal("solo", counting_moto, cast, django_user_model, tmp_path, 1)
    concurrency, prefetch = recommended_command()
    recommended = run_portal("recommended", counting_moto, cast, django_user_model, tmp_path, concurrency, prefetch)
    threads = os.environ.get("PORTAL_GRANT_SYNC_THREADS", settings.GRANT_SYNC_THREADS)
    bare = run_bare(counting_moto)
    print(
        f"\n== apply benchmark: {GRANTS} grants, {PEOPLE} people (half new to IAM), 3 accounts (2 by AssumeRole); "
        f"groups, policies, roles, a permission set; PostgreSQL, Redis, moto ==\n"
        f"{bare.line(None)}\n"
        f"{solo.line(bare)}  [one worker, --concurrency 1, {threads} threads]\n"
        f"{recommended.line(bare)}  [--concurrency {concurrency} --prefetch-multiplier {prefetch}, {threads} threads]\n"
        f"targets: x0.70 solo, x1.00 recommended; AWS calls per grant within 5% of the bare loop's "
        f"(solo {solo.calls / bare.calls - 1:+.1%}, recommended {recommended.calls / bare.calls - 1:+.1%})"
    )
    assert solo.failed == recommended.failed == 0
