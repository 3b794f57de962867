"""The operations pages: governance admins only, constant queries, adopt and retry through their services."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import Grant
from catalog.models import AwsAccount
from iam.models import ReconcileRun, UnmanagedAccess


def unmanaged(account, principal, aws_name, **extra):
    now = timezone.now()
    return UnmanagedAccess.objects.create(
        account=account,
        kind="iam_group",
        aws_principal=principal,
        aws_name=aws_name,
        first_seen=now,
        last_seen=now,
        **extra,
    )


def failed_grant(cast, entitlement):
    grant = Grant.objects.create(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN)
    services.record_sync_failure(services.claim_grant_for_sync(grant.pk), error="AWS refused (AccessDenied): no")
    return grant


@pytest.mark.parametrize("url_name", ["iam:operations"])
def test_only_governance_admins_see_operations(client_for, cast, sandbox, url_name):
    assert client_for(cast.bob).get(reverse(url_name)).status_code == 403
    assert client_for(cast.erin).get(reverse(url_name)).status_code == 200


def test_account_page_lists_runs_drift_and_failed_grants(client_for, cast, sandbox):
    ReconcileRun.objects.create(
        account=sandbox.account,
        mode="report",
        status="succeeded",
        api_calls=3,
        drift_found=1,
        finished_at=timezone.now(),
    )
    drift = unmanaged(sandbox.account, "mallory", "Developers", entitlement=sandbox.developers)
    grant = failed_grant(cast, sandbox.developers)

    page = client_for(cast.erin).get(reverse("iam:account", args=[sandbox.account.pk])).content.decode()

    assert f'data-testid="drift-{drift.pk}"' in page and "not a portal person" in page
    assert f'data-testid="failed-{grant.pk}"' in page and "AWS refused (AccessDenied): no" in page
    assert 'id="runs-data"' in page


def test_adopting_drift_puts_it_in_the_ledger(client_for, cast, sandbox):
    drift = unmanaged(sandbox.account, "alice", "Developers", entitlement=sandbox.developers, person=cast.alice)

    response = client_for(cast.erin).post(reverse("iam:adopt", args=[drift.pk]), follow=True)

    assert response.status_code == 200
    grant = Grant.objects.get(user=cast.alice)
    assert (grant.source, grant.sync_state) == (Grant.Source.IMPORT, Grant.SyncState.APPLIED)
    drift.refresh_from_db()
    assert drift.state == UnmanagedAccess.State.ADOPTED
    again = client_for(cast.erin).post(reverse("iam:adopt", args=[drift.pk]))
    assert again.status_code == 409


def test_retrying_a_failed_grant_from_the_page(client_for, cast, sandbox):
    grant = failed_grant(cast, sandbox.developers)

    client_for(cast.erin).post(reverse("iam:retry", args=[grant.pk]))

    grant.refresh_from_db()
    assert grant.sync_state == Grant.SyncState.PENDING
    history = client_for(cast.erin).get(reverse("iam:grant_history", args=[grant.pk])).content.decode()
    assert "grant.sync_failed" in history and "grant.retry" in history


def test_state_changes_are_posts(client_for, cast, sandbox):
    grant = failed_grant(cast, sandbox.developers)
    client = client_for(cast.erin)

    assert client.get(reverse("iam:retry", args=[grant.pk])).status_code == 405
    assert client.get(reverse("iam:reconcile_now", args=[sandbox.account.pk])).status_code == 405
    assert client_for(cast.bob).post(reverse("iam:retry", args=[grant.pk])).status_code == 403


def test_operations_page_runs_the_same_queries_for_3_and_40_accounts(client_for, cast, sandbox):
    client = client_for(cast.erin)

    def accounts(count):
        for n in range(AwsAccount.objects.count(), count):
            account = AwsAccount.objects.create(account_id=f"{n:012d}", name=f"Account {n}")
            ReconcileRun.objects.create(account=account, mode="report", status="succeeded", finished_at=timezone.now())
            unmanaged(account, f"user{n}", "Admins")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("iam:operations")).status_code == 200
        return len(queries)

    assert accounts(3) == accounts(40)


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_people_who_are_not_governance_admins_cannot_reconcile_adopt_or_retry(client_for, cast, sandbox, who):
    drift = unmanaged(sandbox.account, "alice", "Developers", entitlement=sandbox.developers, person=cast.alice)
    grant = failed_grant(cast, sandbox.developers)
    client = client_for(getattr(cast, who))

    answers = [
        client.post(reverse("iam:reconcile_now", args=[sandbox.account.pk])).status_code,
        client.post(reverse("iam:adopt", args=[drift.pk])).status_code,
        client.post(reverse("iam:retry", args=[grant.pk])).status_code,
    ]

    assert answers == [403, 403, 403]
    drift.refresh_from_db()
    grant.refresh_from_db()
    assert (drift.state, grant.sync_state) == (UnmanagedAccess.State.OPEN, Grant.SyncState.FAILED)


def test_failed_grants_are_counted_per_account_from_the_failed_rows_alone(client_for, cast, sandbox):
    """Read from the failed grants (partial index grant_sync_failed), never by joining accounts to all grants."""
    failed_grant(cast, sandbox.developers)
    failed_grant(cast, sandbox.breakglass)
    Grant.objects.create(user=cast.bob, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    quiet = AwsAccount.objects.create(account_id="000000000042", name="Quiet account")

    with CaptureQueriesContext(connection) as queries:
        response = client_for(cast.erin).get(reverse("iam:operations"))

    counts = {account.pk: account.failed_grants for account, _ in response.context["rows"]}
    assert counts == {sandbox.account.pk: 2, quiet.pk: 0}
    grant_reads = [query["sql"] for query in queries if '"access_grant"' in query["sql"]]
    assert grant_reads and all(""""sync_state" = 'failed'""" in sql for sql in grant_reads), grant_reads
