"""Just-in-time elevation in headless Chromium: two hours of a high-risk role, and what was done with it.

Alice asks for two hours of Production deployer (an IAM role, high risk). Bob, her manager, approves; his
sign-in was twenty minutes ago, so approving asks for a fresh code first. Alice sees the role active with a
countdown. She uses it: CloudTrail's log files of her calls land in the account's trail bucket (written into the
simulated S3 here, as CloudTrail writes them), and the daily read of live grants runs; her request's timeline
shows what she did. She gives it back early, and AWS is read (moto) without her right to assume the role.
"""

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from access.models import Grant, GrantActivity
from catalog.models import ApprovalPolicy, ApprovalStage, Entitlement
from outbox.services import enqueue
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.signing_in import fresh_code, sign_in
from tests.browser.test_request_journey import RESULTS
from tests.iam.trail_files import key_for, log_file, role_call

REASON = "Hotfix deployment of the payment service"
ROLE = "ProdDeployer"
SESSION_AUTHENTICATIONS = "account_authentication_methods"  # where allauth keeps a session's sign-in proofs


def signed_in_minutes_ago(page, minutes: int) -> None:
    """Bob signed in (password and code) `minutes` ago: his session's proofs are dated back by that much."""
    [cookie] = [cookie for cookie in page.context.cookies() if cookie["name"] == "sessionid"]
    session = SessionStore(session_key=cookie["value"])
    for proof in session[SESSION_AUTHENTICATIONS]:
        proof["at"] -= minutes * 60
    session.save()


def wait_until(condition, seconds: float, what: str) -> None:
    """Poll `condition` until it holds, failing with `what` after a generous deadline (a busy 2-core machine)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.2)


def assume_policies(iam, user: str) -> list[str]:
    return [name for name in iam.list_user_policies(UserName=user)["PolicyNames"] if name.startswith("portal-assume")]


@pytest.mark.django_db(transaction=True)
def test_two_hours_of_a_high_risk_role_approved_with_a_fresh_code_used_and_given_back_early(
    browser, live_server, cast, sandbox, aws, moto_server, celery_worker
):
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    bucket = f"cloudtrail-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    sandbox.account.cloudtrail_bucket = bucket
    sandbox.account.save()
    managers_only = ApprovalPolicy.objects.create(name="Manager with a fresh code")
    ApprovalStage.objects.create(policy=managers_only, order=1, approvers=ApprovalStage.Approvers.MANAGER)
    deployer = Entitlement.objects.create(
        account=sandbox.account,
        kind=Entitlement.Kind.IAM_ROLE,
        aws_name=ROLE,
        name="Production deployer",
        risk=Entitlement.Risk.HIGH,
        duration_unit=Entitlement.DurationUnit.HOURS,
        max_duration_hours=8,
        approval_policy=managers_only,
    )
    deployer.owners.set([cast.carol])

    # Alice asks for two hours.
    alice = sign_in(browser, live_server, "alice@example.com")
    alice.goto(f"/catalog/{deployer.pk}/request/")
    alice.get_by_label("For how long?").select_option("2")
    alice.get_by_label("Why do you need this access?").fill(REASON)
    assert_accessible(alice, "asking for two hours of a high-risk role")
    alice.get_by_role("button", name="Send request").click()
    expect(alice.get_by_role("alert")).to_contain_text("Your request for Production deployer was sent for approval.")

    # Bob approves; his sign-in's code is twenty minutes old, so he is asked for a fresh one.
    bob = sign_in(browser, live_server, "bob@example.com")
    signed_in_minutes_ago(bob, 20)
    bob.get_by_role("link", name=re.compile("Approvals")).click()
    bob.wait_for_load_state("load")  # the inline decision is htmx's: its script has run by the page's load
    row = bob.locator("tr", has_text="Production deployer")
    expect(row).to_contain_text("2 hours")
    row.get_by_role("button", name="Approve").click()
    expect(bob).to_have_url(re.compile(r"/accounts/2fa/reauthenticate/"))
    expect(bob.get_by_role("alert")).to_contain_text("Approving a high-risk request needs a second factor")
    assert_accessible(bob, "the step-up code asked for")
    bob.get_by_label("Authenticator code").fill(fresh_code(cast.bob))
    bob.get_by_role("button", name="Confirm").click()
    expect(bob.get_by_role("alert").last).to_contain_text("You approved Production deployer for Alice Engineer.")

    # Active in AWS, with a countdown.
    alice.get_by_role("link", name="My access").click()
    grant_row = alice.get_by_test_id(f"grant-{deployer.aws_name}")
    expect(grant_row.get_by_test_id("sync-state")).to_have_text("Active", timeout=60_000)
    expect(grant_row.get_by_test_id("countdown")).to_contain_text(re.compile(r"ends at \d\d:\d\d \(in (1 h 5\d|2 h)"))
    assert_accessible_at_both_widths(alice, "my access: two hours, counting down")
    RESULTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(RESULTS / "elevation-countdown.png"), full_page=True)
    assert assume_policies(iam, "alice") == [f"portal-assume-{ROLE}"]
    grant = Grant.objects.get(user=cast.alice, entitlement=deployer)
    assert grant.expires_at == grant.activated_at + timedelta(hours=2)

    # She uses it; CloudTrail delivers the calls of her session; the daily read of live grants runs.
    now = datetime.now(UTC)
    calls = [
        role_call(ROLE, "alice", now, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
        role_call(ROLE, "alice", now, "s3.amazonaws.com", "GetObject"),
        role_call(ROLE, "alice", now, "s3.amazonaws.com", "GetObject"),
    ]
    s3.put_object(Bucket=bucket, Key=key_for(now), Body=log_file(calls))
    enqueue("iam.summarise_live_grants")
    wait_until(lambda: GrantActivity.objects.filter(grant=grant, calls=3).exists(), 120, "her calls read")
    alice.get_by_role("link", name="My requests").click()
    expect(
        alice.get_by_text(re.compile(r"Activity: used 3 calls in \d hours?: s3:GetObject, lambda:UpdateFunctionCode"))
    ).to_be_visible()
    assert_accessible(alice, "her request's timeline with what she did")

    # Done early: she gives it back, and AWS is read without her right to assume the role.
    alice.get_by_role("link", name="My access").click()
    alice.get_by_role("button", name="Give back Production deployer").click()
    expect(alice.get_by_role("alert")).to_contain_text("Production deployer is being removed from your AWS access.")
    assert_accessible(alice, "my access after giving it back")
    wait_until(lambda: Grant.objects.filter(pk=grant.pk, sync_state=Grant.SyncState.REVOKED).exists(), 120, "removed")
    assert assume_policies(iam, "alice") == []
    # Its whole window is read once more now that it is closed.
    grant.refresh_from_db()
    wait_until(lambda: GrantActivity.objects.filter(grant=grant, window_end=grant.ended_at).exists(), 120, "final read")
