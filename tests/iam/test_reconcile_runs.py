"""Reconcile runs: one paginated walk, counted calls, one run per account at a time, failures recorded."""

import datetime
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from django.db import connection
from django.utils import timezone

from access.models import Grant
from catalog.models import AwsAccount
from iam import tasks
from iam.aws import gateway
from iam.aws.errors import PermanentAwsError
from iam.aws.gateway import account_access
from iam.models import ReconcileRun, UnmanagedAccess
from iam.reconcile import reconcile

ACCOUNT_ID = "123456789012"
CREATED = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
DENIED = b"""<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
<Message>User is not authorized to perform: {action}</Message></Error><RequestId>1</RequestId></ErrorResponse>"""


class FakeRaw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def deny(client, operation: str, only_for: str = "") -> None:
    """AWS answers AccessDenied to `operation` (for one user name only, if given), as botocore's tests fake it."""
    denied = DENIED.replace(b"{action}", f"iam:{operation}".encode())

    def respond(request, **kwargs):
        body_params = parse_qs(request.body if isinstance(request.body, str) else request.body.decode())
        if only_for and body_params.get("UserName") != [only_for]:
            return None
        return AWSResponse(request.url, 403, {}, FakeRaw(denied))

    client.meta.events.register(f"before-send.iam.{operation}", respond)


def user(name: str, **details) -> dict:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": f"AIDA{name.upper():0<17}"[:21],
        "Arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}",
        "CreateDate": CREATED,
        **details,
    }


def test_the_walk_follows_every_page_and_counts_one_call_per_page(moto_server, sandbox, cast, fresh_clients):
    client = gateway.iam_client(account_access(sandbox.account))
    billing = f"arn:aws:iam::{ACCOUNT_ID}:policy/ReadBilling"
    first = {"Filter": ["User"], "MaxItems": 1000}
    with Stubber(client) as stub:
        stub.add_response(
            "get_account_authorization_details",
            {"UserDetailList": [user("alice", GroupList=["Developers"])], "IsTruncated": True, "Marker": "page-2"},
            first,
        )
        stub.add_response(
            "get_account_authorization_details",
            {
                "UserDetailList": [
                    user("legacy-ci", AttachedManagedPolicies=[{"PolicyName": "ReadBilling", "PolicyArn": billing}])
                ],
                "IsTruncated": False,
            },
            {**first, "Marker": "page-2"},
        )

        run = reconcile.reconcile_account(sandbox.account.pk)

        stub.assert_no_pending_responses()
    assert (run.status, run.api_calls, run.principals_seen, run.drift_found) == ("succeeded", 2, 2, 2)
    rows = UnmanagedAccess.objects.values_list("kind", "aws_principal", "aws_name", "person__email")
    assert set(rows) == {
        ("iam_group", "alice", "Developers", "alice@example.com"),
        ("iam_policy", "legacy-ci", billing, None),
    }


@pytest.mark.django_db(transaction=True)
def test_a_second_reconcile_of_the_account_meanwhile_is_skipped(aws, sandbox, fresh_clients):
    """While the first run walks AWS, another worker (its own thread and database connection) tries the same account."""
    client = gateway.iam_client(aws)
    during: list[object] = []

    def reconcile_in_another_worker():
        try:
            during.append(tasks.reconcile_account(sandbox.account.pk))
        finally:
            connection.close()

    def meanwhile(**kwargs):
        if not during:
            other = threading.Thread(target=reconcile_in_another_worker)
            other.start()
            other.join(timeout=30)

    client.meta.events.register("before-call.iam.GetAccountAuthorizationDetails", meanwhile)

    run = reconcile.reconcile_account(sandbox.account.pk)

    assert during == [{"skipped": "Another reconcile of Sandbox (123456789012) is running."}]
    assert run.status == "succeeded"
    assert ReconcileRun.objects.count() == 1


def test_the_task_skips_an_account_another_run_holds(aws, sandbox):
    ReconcileRun.objects.create(account=sandbox.account, mode="report")

    result = tasks.reconcile_account(sandbox.account.pk)

    assert result == {"skipped": "Another reconcile of Sandbox (123456789012) is running."}
    assert ReconcileRun.objects.count() == 1


def test_a_run_abandoned_by_a_dead_worker_is_taken_over(aws, sandbox):
    abandoned = ReconcileRun.objects.create(
        account=sandbox.account, mode="report", started_at=timezone.now() - reconcile.STALE_RUN_AFTER - timedelta(1)
    )

    run = reconcile.reconcile_account(sandbox.account.pk)

    abandoned.refresh_from_db()
    assert (abandoned.status, abandoned.error) == ("failed", "Abandoned: its worker stopped before finishing.")
    assert run.status == "succeeded"


def test_a_walk_aws_refuses_fails_the_run_with_the_message_and_frees_the_account(aws, sandbox, fresh_clients):
    deny(gateway.iam_client(aws), "GetAccountAuthorizationDetails")

    with pytest.raises(PermanentAwsError, match="AccessDenied"):
        reconcile.reconcile_account(sandbox.account.pk)

    run = ReconcileRun.objects.get()
    assert run.status == "failed" and run.finished_at is not None
    assert "AccessDenied" in run.error and run.api_calls == 1
    gateway._clients.clear()
    assert reconcile.reconcile_account(sandbox.account.pk).status == "succeeded"


def test_a_removal_aws_refuses_fails_the_run_and_keeps_the_drift_open_with_the_reason(
    aws, aws_direct, sandbox, fresh_clients
):
    sandbox.account.sync_mode = AwsAccount.SyncMode.ENFORCE
    sandbox.account.save(update_fields=["sync_mode"])
    iam = aws_direct("iam")
    iam.add_user_to_group(GroupName="Developers", UserName="bob")
    iam.add_user_to_group(GroupName="BreakGlass", UserName="carol")
    deny(gateway.iam_client(aws), "RemoveUserFromGroup", only_for="bob")

    run = reconcile.reconcile_account(sandbox.account.pk)

    assert run.status == "failed" and "Could not remove 1 unmanaged access" in run.error
    bob = UnmanagedAccess.objects.get(aws_principal="bob")
    assert bob.state == "open" and "AccessDenied" in bob.last_error
    assert UnmanagedAccess.objects.get(aws_principal="carol").state == "removed"
    assert "Developers" in {group["GroupName"] for group in iam.list_groups_for_user(UserName="bob")["Groups"]}


def wait_until(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {seconds}s")
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_beat_fans_out_one_reconcile_per_account_and_the_worker_reapplies_what_is_missing(
    aws, aws_direct, sandbox, grant_of, celery_worker
):
    grant = grant_of(sandbox.developers)  # approved: the worker applies it
    wait_until(lambda: Grant.objects.get(pk=grant.pk).sync_state == "applied")
    applied_at = Grant.objects.get(pk=grant.pk).verified_at
    iam = aws_direct("iam")
    iam.remove_user_from_group(GroupName="Developers", UserName="alice")
    other = AwsAccount.objects.create(account_id="210987654321", name="Empty")

    tasks.reconcile_all.delay()

    wait_until(lambda: ReconcileRun.objects.exclude(status="running").count() == 2)
    runs = {run.account_id: run for run in ReconcileRun.objects.all()}
    assert (runs[sandbox.account.pk].status, runs[sandbox.account.pk].missing_reapplied) == ("succeeded", 1)
    assert runs[other.pk].status == "succeeded"
    wait_until(lambda: Grant.objects.get(pk=grant.pk).verified_at > applied_at)
    assert Grant.objects.get(pk=grant.pk).sync_state == "applied"
    assert "Developers" in {group["GroupName"] for group in iam.list_groups_for_user(UserName="alice")["Groups"]}
