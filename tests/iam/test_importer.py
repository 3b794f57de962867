"""Importing an account's groups, policies, roles and permission sets into the catalog."""

import datetime
import json
import time

import pytest
import requests as http
from botocore.stub import Stubber
from celery import current_app

from audit.models import AuditEvent
from catalog.models import Entitlement
from iam.aws import gateway
from iam.catalog_import import importer
from iam.catalog_import.importer import ImportResult

ALLOW_NOTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
TRUST_THE_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture
def existing_aws(aws, aws_direct, sandbox):
    """Besides the sandbox's Developers and BreakGlass groups (already in the catalog): one of each kind,
    and a service-linked role the portal must leave alone."""
    iam = aws_direct("iam")
    iam.create_group(GroupName="Auditors")
    policy_arn = iam.create_policy(PolicyName="ReadBilling", PolicyDocument=json.dumps(ALLOW_NOTHING))["Policy"]["Arn"]
    iam.create_role(
        RoleName="Deployer", AssumeRolePolicyDocument=json.dumps(TRUST_THE_ACCOUNT), Description="Deploys services"
    )
    iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    instance_arn = aws_direct("sso-admin").list_instances()["Instances"][0]["InstanceArn"]
    permission_set_arn = aws_direct("sso-admin").create_permission_set(
        Name="ReadOnly", InstanceArn=instance_arn, Description="Read-only access"
    )["PermissionSet"]["PermissionSetArn"]
    sandbox.account.sso_instance_arn = instance_arn
    sandbox.account.save(update_fields=["sso_instance_arn"])
    return {"policy": policy_arn, "permission_set": permission_set_arn}


def imported(account) -> set[tuple]:
    rows = Entitlement.objects.filter(account=account, requestable=False, risk=Entitlement.Risk.MEDIUM)
    return set(rows.values_list("kind", "aws_name", "name", "description"))


def test_import_adds_what_the_catalog_lacks_unrequestable_and_owned_by_the_admin(existing_aws, sandbox, cast):
    result = importer.import_entitlements(sandbox.account, actor=cast.erin)

    assert result == ImportResult(created=4, already_present=2, skipped=1)
    assert imported(sandbox.account) == {
        ("iam_group", "Auditors", "Auditors", ""),
        ("iam_policy", existing_aws["policy"], "ReadBilling", ""),
        ("iam_role", "Deployer", "Deployer", "Deploys services"),
        ("sso_permission_set", existing_aws["permission_set"], "ReadOnly", "Read-only access"),
    }
    new = Entitlement.objects.exclude(pk__in=[entitlement.pk for entitlement in sandbox.all])
    assert not new.filter(requestable=True).exists(), "nothing is requestable before an admin reviews it"
    assert {tuple(entitlement.owners.all()) for entitlement in new} == {(cast.erin,)}
    events = AuditEvent.objects.filter(action="catalog.entitlement_imported")
    assert sorted(int(event.object_id) for event in events) == sorted(entitlement.pk for entitlement in new)
    assert {event.actor for event in events} == {cast.erin}


def test_a_second_import_creates_nothing(existing_aws, sandbox, cast):
    importer.import_entitlements(sandbox.account, actor=cast.erin)
    events = AuditEvent.objects.count()

    result = importer.import_entitlements(sandbox.account, actor=cast.erin)

    assert result == ImportResult(created=0, already_present=6, skipped=1)
    assert AuditEvent.objects.count() == events


def test_service_linked_roles_are_never_imported(existing_aws, sandbox, cast):
    importer.import_entitlements(sandbox.account, actor=cast.erin, kinds=[Entitlement.Kind.IAM_ROLE])

    roles = Entitlement.objects.filter(kind=Entitlement.Kind.IAM_ROLE)
    assert list(roles.values_list("aws_name", flat=True)) == ["Deployer"]


def test_the_import_can_be_limited_to_some_kinds(existing_aws, sandbox, cast):
    result = importer.import_entitlements(sandbox.account, actor=cast.erin, kinds=[Entitlement.Kind.IAM_GROUP])

    assert result == ImportResult(created=1, already_present=2, skipped=0)
    assert Entitlement.objects.filter(kind=Entitlement.Kind.IAM_GROUP).count() == 3
    assert not Entitlement.objects.exclude(kind=Entitlement.Kind.IAM_GROUP).exists()


def test_an_account_without_identity_center_imports_no_permission_sets(existing_aws, sandbox, cast):
    sandbox.account.sso_instance_arn = ""
    sandbox.account.save(update_fields=["sso_instance_arn"])

    importer.import_entitlements(sandbox.account, actor=cast.erin)

    assert not Entitlement.objects.filter(kind=Entitlement.Kind.SSO_PERMISSION_SET).exists()


def test_only_aws_managed_policies_attached_in_the_account_are_imported(
    moto_server, aws_direct, sandbox, cast, monkeypatch
):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # the simulator's copy of AWS's policies
    http.post(f"{moto_server}/moto-api/reset", timeout=30).raise_for_status()
    iam = aws_direct("iam")
    iam.create_user(UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

    importer.import_entitlements(sandbox.account, actor=cast.erin, kinds=[Entitlement.Kind.IAM_POLICY])

    policies = Entitlement.objects.filter(kind=Entitlement.Kind.IAM_POLICY)
    assert list(policies.values_list("aws_name", "name")) == [
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", "ReadOnlyAccess")
    ]


def test_roles_are_listed_from_every_page(moto_server, sandbox, fresh_clients):
    account = gateway.AccountAccess("123456789012")
    created = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

    def role(name, path="/"):
        return {
            "Path": path,
            "RoleName": name,
            "RoleId": f"AROA{name.upper():0<17}"[:21],
            "Arn": f"arn:aws:iam::123456789012:role{path}{name}",
            "CreateDate": created,
        }

    with Stubber(gateway.iam_client(account)) as stub:
        stub.add_response("list_roles", {"Roles": [role("Deployer")], "IsTruncated": True, "Marker": "page-2"}, {})
        stub.add_response(
            "list_roles",
            {
                "Roles": [
                    role("ReadOnly"),
                    role("AWSServiceRoleForSupport", "/aws-service-role/support.amazonaws.com/"),
                ],
                "IsTruncated": False,
            },
            {"Marker": "page-2"},
        )
        found, skipped = importer.list_roles(account)
        stub.assert_no_pending_responses()

    assert [item.aws_name for item in found] == ["Deployer", "ReadOnly"]
    assert skipped == 1


@pytest.mark.django_db(transaction=True)
def test_the_admin_runs_the_import_in_the_background(existing_aws, sandbox, cast, celery_worker):
    current_app.send_task("iam.import_entitlements", args=[sandbox.account.pk, cast.erin.pk])

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and Entitlement.objects.count() < 6:
        time.sleep(0.1)
    assert Entitlement.objects.count() == 6
    assert AuditEvent.objects.filter(action="catalog.entitlement_imported", actor=cast.erin).count() == 4
