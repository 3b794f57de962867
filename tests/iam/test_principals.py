"""A person's IAM user is ensured once per account, before their grants, and never costs a failed change."""

import boto3
import pytest

from access.models import Grant
from catalog.models import Entitlement
from iam.apply import sync
from iam.aws import gateway
from iam.models import IamPrincipal


@pytest.fixture
def new_person_account(sandbox, aws, moto_server):
    """The sandbox lets the portal create IAM users; Alice has none yet."""
    boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1").delete_user(UserName="alice")
    sandbox.account.create_iam_users = True
    sandbox.account.save(update_fields=["create_iam_users"])
    return sandbox.account


@pytest.fixture
def billing_read(aws_direct, aws, entitlement_of):
    document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ce:Get*","Resource":"*"}]}'
    arn = aws_direct("iam").create_policy(PolicyName="BillingRead", PolicyDocument=document)["Policy"]["Arn"]
    return entitlement_of(Entitlement.Kind.IAM_POLICY, arn, "Billing read")


def test_a_new_persons_user_is_created_once_before_their_grants_with_no_failed_call(
    new_person_account, sandbox, billing_read, grant_of
):
    grants = [grant_of(sandbox.developers), grant_of(billing_read)]

    with gateway.counting_calls() as calls:
        outcomes = sync.sync_batch(grants[0].pk, batch=10)

    assert {outcome.result for outcome in outcomes} == {"applied"}
    # CreateUser, then per grant the change and its read-back: nothing tried first and failed, no GetUser.
    assert calls.calls == 1 + 2 * 2
    principal = IamPrincipal.objects.get(account=new_person_account, user_name="alice")
    assert principal.created_by_portal


def test_a_user_that_exists_though_the_portal_did_not_know_it_is_no_failure(
    new_person_account, sandbox, grant_of, aws_direct
):
    aws_direct("iam").create_user(UserName="alice")  # made by hand after the fixture removed it
    grant = grant_of(sandbox.developers)

    outcome = sync.sync_grant(grant.pk)

    assert outcome.result == "applied"
    assert not IamPrincipal.objects.get(account=new_person_account, user_name="alice").created_by_portal


def test_a_user_deleted_outside_the_portal_is_created_again_not_blamed_on_the_entitlement(
    new_person_account, sandbox, billing_read, grant_of, aws_direct
):
    sync.sync_grant(grant_of(sandbox.developers).pk)
    IamPrincipal.objects.filter(user_name="alice").update(created_by_portal=False)  # long since created
    iam = aws_direct("iam")
    iam.remove_user_from_group(GroupName="Developers", UserName="alice")
    iam.delete_user(UserName="alice")
    grant = grant_of(billing_read)

    first = sync.sync_grant(grant.pk)
    second = sync.sync_grant(grant.pk)

    assert first.result == "retry"
    assert "deleted outside the portal" in first.detail
    assert second.result == "applied"
    grant.refresh_from_db()
    assert grant.sync_state == Grant.SyncState.APPLIED
    attached = iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [billing_read.aws_name]


def test_a_missing_group_is_still_the_entitlements_failure(new_person_account, entitlement_of, grant_of, aws_direct):
    aws_direct("iam").create_user(UserName="alice")
    grant = grant_of(entitlement_of(Entitlement.Kind.IAM_GROUP, "NoSuchGroup"))

    outcome = sync.sync_grant(grant.pk)

    assert outcome.result == "failed"
    assert "NoSuchEntity" in outcome.detail


def test_a_change_failing_just_after_the_portal_created_the_user_is_retried_not_failed(
    new_person_account, entitlement_of, grant_of
):
    # AWS answers NoSuchEntity for a while after CreateUser: within that window it is never the entitlement's fault.
    grant = grant_of(entitlement_of(Entitlement.Kind.IAM_GROUP, "NoSuchGroup"))

    outcome = sync.sync_grant(grant.pk)

    assert outcome.result == "retry"
    grant.refresh_from_db()
    assert grant.sync_state == Grant.SyncState.PENDING
