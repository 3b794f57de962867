"""Benchmark: a full reconcile of an account with 5,000 IAM users and 300 groups.

Run with `make bench`. Prints figures; asserts only that each run succeeded and saw every user.

The account is filled straight into moto's in-process IAM backend (the moto server of the
test session shares it), which takes about a second instead of minutes of HTTP calls. Each
user is in two groups: the first is a grant the ledger holds (applied), the second is not
(drift). The reconcile runs twice: the first finds the drift, the second is the steady state.
Note: moto answers GetAccountAuthorizationDetails in one page whatever its size; real AWS
pages at 1,000 users, so expect ceil(users / 1000) calls there.
"""

import math
import os
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from moto.iam.models import iam_backends

from access.models import Grant
from catalog.models import Entitlement
from iam.models import UnmanagedAccess

USERS = int(os.environ.get("BENCH_RECONCILE_USERS", "5000"))
GROUPS = int(os.environ.get("BENCH_RECONCILE_GROUPS", "300"))


class QueryCount:
    """SQL queries run by this thread inside the block (Django's own query log stops at 9,000)."""

    def __init__(self):
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        connection.execute_wrappers.append(self)
        return self

    def __exit__(self, *exc):
        connection.execute_wrappers.remove(self)


def fill_account(account, django_user_model) -> None:
    """USERS IAM users and portal people, GROUPS groups in the catalog, two memberships each."""
    backend = iam_backends[account.account_id]["aws"]
    groups = [f"team-{number:03d}" for number in range(GROUPS)]
    for group in groups:
        backend.create_group(group)
    entitlements = Entitlement.objects.bulk_create(
        Entitlement(account=account, aws_name=group, name=f"Team {group}", risk=Entitlement.Risk.LOW)
        for group in groups
    )
    names = [f"person{number:05d}" for number in range(USERS)]
    people = django_user_model.objects.bulk_create(
        (django_user_model(email=f"{name}@example.com", full_name=name, password="!") for name in names),
        batch_size=1000,
    )
    verified = timezone.now() - timedelta(days=1)
    grants = []
    for number, (name, person) in enumerate(zip(names, people, strict=True)):
        backend.create_user("us-east-1", name)
        held, drift = entitlements[number % GROUPS], entitlements[(number * 7 + 1) % GROUPS]
        backend.add_user_to_group(held.aws_name, name)
        if drift.pk != held.pk:
            backend.add_user_to_group(drift.aws_name, name)
        grants.append(
            Grant(
                user=person,
                entitlement=held,
                source=Grant.Source.ADMIN,
                sync_state=Grant.SyncState.APPLIED,
                granted_at=verified,
                verified_at=verified,
            )
        )
    Grant.objects.bulk_create(grants, batch_size=1000)


@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)
def test_full_reconcile_of_5000_users_and_300_groups(sandbox, aws, django_user_model):
    from iam.reconcile.reconcile import reconcile_account  # written alongside this benchmark

    started = time.perf_counter()
    fill_account(sandbox.account, django_user_model)
    setup_seconds = time.perf_counter() - started

    figures = []
    for label in ("first run (finds the drift)", "second run (steady state)"):
        with QueryCount() as queries:
            run = reconcile_account(sandbox.account.pk)
        assert run.status == run.Status.SUCCEEDED, run.error
        assert run.principals_seen >= USERS
        seconds = (run.finished_at - run.started_at).total_seconds()
        figures.append(
            f"{label:30} {seconds:8.2f} s  api_calls {run.api_calls:3}  principals {run.principals_seen}  "
            f"drift {run.drift_found}  changes {run.changes_made}  SQL {queries.queries}"
        )
    open_drift = UnmanagedAccess.objects.filter(state=UnmanagedAccess.State.OPEN).count()
    print(
        f"\n== reconcile benchmark: {USERS} IAM users, {GROUPS} groups; database {connection.vendor} ==\n"
        f"setup (moto backend + bulk inserts)  {setup_seconds:8.2f} s\n"
        + "\n".join(figures)
        + f"\nopen unmanaged access rows {open_drift}; on real AWS the walk is "
        f"{math.ceil(USERS / 1000)} GetAccountAuthorizationDetails pages"
    )
