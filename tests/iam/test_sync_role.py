"""iam_role entitlements: permission to assume the role, and revocation that also cuts live sessions.

moto stores the policies without enforcing them, so these tests check the documents AWS holds.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from iam.apply import operations, sync
from iam.apply.operations import roles
from iam.models import AwsWriteLease
from tests.iam.conftest import give_back, target_for

TRUST_THE_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    ],
}
ROLE_ARN = "arn:aws:iam::123456789012:role/Deployer"


@pytest.fixture
def deployer(aws, aws_direct, entitlement_of):
    aws_direct("iam").create_role(RoleName="Deployer", AssumeRolePolicyDocument=json.dumps(TRUST_THE_ACCOUNT))
    return entitlement_of(Entitlement.Kind.IAM_ROLE, "Deployer", "Deployer role")


def assume_policy(aws_direct, user_name: str) -> dict | None:
    iam = aws_direct("iam")
    try:
        return iam.get_user_policy(UserName=user_name, PolicyName="portal-assume-Deployer")["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return None


def revoked_sessions(aws_direct) -> list[dict]:
    answer = aws_direct("iam").get_role_policy(RoleName="Deployer", PolicyName="portal-revoked-sessions")
    return answer["PolicyDocument"]["Statement"]


def test_granted_role_may_be_assumed_only_under_the_persons_own_session_name(deployer, grant_of, aws_direct):
    grant = grant_of(deployer)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "applied", outcome.detail
    assert grant.sync_state == Grant.SyncState.APPLIED
    assert assume_policy(aws_direct, "alice")["Statement"] == [
        {
            "Sid": "PortalAssumeRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": ROLE_ARN,
            "Condition": {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}},
        }
    ]
    evidence = AuditEvent.objects.get(action="grant.applied").after["evidence"]
    assert evidence == f"alice may assume {ROLE_ARN} through portal-assume-Deployer in 123456789012 (read back)"


def test_a_rerun_after_a_crash_writes_the_same_policy(deployer, grant_of, aws, aws_direct):
    grant = grant_of(deployer)
    operations.apply(deployer.kind, target_for(aws, deployer), present=True)

    outcome = sync.sync_grant(grant.pk)

    assert outcome.result == "applied"
    assert aws_direct("iam").list_user_policies(UserName="alice")["PolicyNames"] == ["portal-assume-Deployer"]


def test_revocation_removes_the_permission_and_denies_older_sessions_of_that_person(deployer, grant_of, aws_direct):
    grant = grant_of(deployer)
    sync.sync_grant(grant.pk)
    give_back(grant)
    revoked_at = timezone.now()

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "applied", outcome.detail
    assert grant.sync_state == Grant.SyncState.REVOKED
    assert assume_policy(aws_direct, "alice") is None
    [deny] = revoked_sessions(aws_direct)
    cutoff = deny["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert deny == {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringLike": {"aws:userid": "*:alice"}, "DateLessThan": {"aws:TokenIssueTime": cutoff}},
    }
    assert datetime.strptime(cutoff, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) > revoked_at
    evidence = AuditEvent.objects.get(action="grant.revoked").after["evidence"]
    assert f"denies alice's sessions issued before {cutoff}" in evidence and "(read back)" in evidence


def test_revocations_of_several_people_share_one_policy_one_statement_each(deployer, grant_of, aws, aws_direct):
    roles.revoke(target_for(aws, deployer, user_name="bob"))
    grant = grant_of(deployer)
    sync.sync_grant(grant.pk)
    give_back(grant)

    sync.sync_grant(grant.pk)
    roles.revoke(target_for(aws, deployer, user_name="bob"))  # bob revoked again: his statement is replaced

    revoked = sorted(statement["Condition"]["StringLike"]["aws:userid"] for statement in revoked_sessions(aws_direct))
    assert revoked == ["*:alice", "*:bob"]


def test_statements_older_than_any_session_can_live_are_pruned(deployer, aws, aws_direct):
    long_ago = (timezone.now() - timedelta(hours=13)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recently = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = [roles.revocation_statement("dave", long_ago), roles.revocation_statement("carol", recently)]
    aws_direct("iam").put_role_policy(
        RoleName="Deployer",
        PolicyName="portal-revoked-sessions",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": old}),
    )

    roles.revoke(target_for(aws, deployer))

    revoked = [statement["Condition"]["StringLike"]["aws:userid"] for statement in revoked_sessions(aws_direct)]
    assert revoked == ["*:carol", "*:alice"]


def test_a_role_missing_from_aws_fails_with_the_aws_message(aws, entitlement_of, grant_of):
    grant = grant_of(entitlement_of(Entitlement.Kind.IAM_ROLE, "Vanished"))

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "failed"
    assert "NoSuchEntity" in grant.last_error and "Vanished" in grant.last_error


def test_revocation_waits_for_another_workers_rewrite_and_is_retried(deployer, grant_of, aws_direct, monkeypatch):
    grant = grant_of(deployer)
    sync.sync_grant(grant.pk)
    give_back(grant)
    AwsWriteLease.objects.create(
        key="123456789012:role/Deployer:portal-revoked-sessions",
        holder="00000000-0000-0000-0000-000000000001",
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    monkeypatch.setattr("iam.aws.leases.WAIT_SECONDS", 0.3)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "retry"
    assert grant.sync_state == Grant.SyncState.PENDING
    assert "Another worker is updating" in grant.last_error
