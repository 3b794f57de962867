"""Permission rules judged on the documents AWS holds: a conflict that only a group's attached policy carries."""

import json

import boto3
import pytest

from access import services
from access.models import Grant
from catalog.models import Entitlement
from iam.facts.permissions import fetch_permissions
from inputs.refusals import SodBlocked
from sod.models import EntitlementPermissions, SodRule

REASON = "Building the new invoice pipeline"


def document(*actions):
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


@pytest.fixture
def lambda_builders(cast, sandbox, aws, moto_server):
    """Developers carries iam:Pass* only through an attached managed policy; LambdaBuilders an inline one."""
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    arn = iam.create_policy(PolicyName="PassAnyRole", PolicyDocument=document("iam:Pass*"))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="Developers", PolicyArn=arn)
    iam.create_group(GroupName="LambdaBuilders")
    iam.put_group_policy(
        GroupName="LambdaBuilders",
        PolicyName="functions",
        PolicyDocument=document("lambda:CreateFunction", "lambda:UpdateFunctionCode"),
    )
    builders = Entitlement.objects.create(
        account=sandbox.account, aws_name="LambdaBuilders", name="Lambda builders", risk="low"
    )
    builders.owners.set([cast.carol])
    rule = SodRule.objects.create(
        name="Pass roles to new functions",
        kind=SodRule.Kind.PERMISSIONS,
        why="a new function could run as any role",
        owner=cast.dave,
        actions=["iam:PassRole", "lambda:CreateFunction"],
    )
    for entitlement in (sandbox.developers, builders):
        fetch_permissions(entitlement.pk)
    return builders, rule


def test_a_conflict_only_a_groups_attached_policy_carries_is_found(cast, sandbox, lambda_builders):
    builders, _ = lambda_builders
    stored = EntitlementPermissions.objects.get(entitlement=sandbox.developers)
    assert [item["source"] for item in stored.documents] == ["arn:aws:iam::123456789012:policy/PassAnyRole"]
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)

    with pytest.raises(SodBlocked) as refused:
        services.submit_request(requester=cast.alice, entitlement=builders, justification=REASON)

    assert refused.value.message == (
        "Lambda builders together with Developers allows iam:PassRole, lambda:CreateFunction, which rule "
        "'Pass roles to new functions' forbids: a new function could run as any role"
    )


def test_a_read_error_is_kept_beside_the_last_good_documents(cast, sandbox, lambda_builders, settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.AWS_MAX_ATTEMPTS = 1

    assert fetch_permissions(sandbox.developers.pk) == 0

    stored = EntitlementPermissions.objects.get(entitlement=sandbox.developers)
    assert "Could not reach AWS" in stored.error
    assert len(stored.documents) == 1, "the last documents AWS gave are kept"
