"""iam_policy entitlements: a managed policy attached to the person's IAM user, read back from AWS."""

import json

import pytest
from botocore.stub import Stubber

from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from iam.apply import operations, sync
from iam.apply.operations import policies
from iam.aws import gateway
from tests.iam.conftest import give_back, target_for

READ_BILLING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ce:Get*", "Resource": "*"}]}


@pytest.fixture
def billing_policy(aws, aws_direct, entitlement_of):
    arn = aws_direct("iam").create_policy(PolicyName="ReadBilling", PolicyDocument=json.dumps(READ_BILLING))
    return entitlement_of(Entitlement.Kind.IAM_POLICY, arn["Policy"]["Arn"], "Read billing")


def attached(aws_direct, user_name: str) -> list[str]:
    answer = aws_direct("iam").list_attached_user_policies(UserName=user_name)
    return [policy["PolicyArn"] for policy in answer["AttachedPolicies"]]


def test_approved_policy_is_attached_and_read_back(billing_policy, grant_of, aws_direct):
    grant = grant_of(billing_policy)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "applied", outcome.detail
    assert grant.sync_state == Grant.SyncState.APPLIED
    assert attached(aws_direct, "alice") == [billing_policy.aws_name]
    evidence = AuditEvent.objects.get(action="grant.applied").after["evidence"]
    assert evidence == f"alice has {billing_policy.aws_name} attached in 123456789012 (read back)"


def test_a_rerun_after_a_crash_attaches_nothing_twice(billing_policy, grant_of, aws, aws_direct):
    grant = grant_of(billing_policy)
    # A worker attached the policy, then died before recording it.
    operations.apply(billing_policy.kind, target_for(aws, billing_policy), present=True)

    outcome = sync.sync_grant(grant.pk)

    assert outcome.result == "applied"
    assert attached(aws_direct, "alice") == [billing_policy.aws_name]


def test_given_back_policy_is_detached_and_read_back(billing_policy, grant_of, aws_direct):
    grant = grant_of(billing_policy)
    sync.sync_grant(grant.pk)
    give_back(grant)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "applied"
    assert grant.sync_state == Grant.SyncState.REVOKED
    assert attached(aws_direct, "alice") == []
    assert "alice does not have" in AuditEvent.objects.get(action="grant.revoked").after["evidence"]


def test_detaching_a_policy_someone_already_detached_succeeds(billing_policy, grant_of, aws_direct):
    grant = grant_of(billing_policy)
    sync.sync_grant(grant.pk)
    aws_direct("iam").detach_user_policy(UserName="alice", PolicyArn=billing_policy.aws_name)
    give_back(grant)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "applied"
    assert grant.sync_state == Grant.SyncState.REVOKED


def test_a_policy_missing_from_aws_fails_with_the_aws_message(aws, entitlement_of, grant_of):
    missing = entitlement_of(Entitlement.Kind.IAM_POLICY, "arn:aws:iam::123456789012:policy/Gone")
    grant = grant_of(missing)

    outcome = sync.sync_grant(grant.pk)

    grant.refresh_from_db()
    assert outcome.result == "failed"
    assert grant.sync_state == Grant.SyncState.FAILED
    assert "NoSuchEntity" in grant.last_error and "policy/Gone" in grant.last_error


def test_attached_policies_are_read_back_from_every_page(moto_server, fresh_clients):
    account = gateway.AccountAccess("123456789012")

    def page(name):
        return {"PolicyName": name, "PolicyArn": f"arn:aws:iam::123456789012:policy/{name}"}

    with Stubber(gateway.iam_client(account)) as stub:
        stub.add_response(
            "list_attached_user_policies",
            {"AttachedPolicies": [page("ReadBilling")], "IsTruncated": True, "Marker": "page-2"},
            {"UserName": "alice"},
        )
        stub.add_response(
            "list_attached_user_policies",
            {"AttachedPolicies": [page("ReadLogs")], "IsTruncated": False},
            {"UserName": "alice", "Marker": "page-2"},
        )
        assert policies.attached_to_user(account, "alice") == {
            "arn:aws:iam::123456789012:policy/ReadBilling",
            "arn:aws:iam::123456789012:policy/ReadLogs",
        }
        stub.assert_no_pending_responses()
