"""AWS Organizations as the source of accounts, against moto's Organizations API.

The organisation (management account 123456789012): under the root, Workloads holds Prod (with Payments
beneath it) and Dev; Sandbox sits beside it. 50 member accounts: 12 in Prod, 12 in Payments, 12 in Dev,
12 in Sandbox, 2 left at the root; two of Prod's are closed (SUSPENDED). Erin, the governance admin, connects
the management account and chooses Workloads.
"""

import json

import pytest
import requests
from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import AwsAccount, OrganizationAccount, OrganizationalUnit, OrgStatus
from iam import tasks
from iam.aws import gateway
from iam.facts import organizations

MANAGEMENT = gateway.AccountAccess("123456789012")
ORG_ROLE = "arn:aws:iam::123456789012:role/PortalOrganizationsReader"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)


def _org(operation: str, **params) -> dict:
    return gateway.call(MANAGEMENT, "organizations", operation, **params)


def _ou(parent: str, name: str) -> str:
    return _org("create_organizational_unit", ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]


def _account(name: str, parent: str, root: str) -> str:
    status = _org("create_account", AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    account_id = status["AccountId"]
    if parent != root:
        _org("move_account", AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
    return account_id


@pytest.fixture
def organisation(moto_server, cast):
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    gateway._clients.clear()
    _org("create_organization", FeatureSet="ALL")
    root = _org("list_roots")["Roots"][0]["Id"]
    workloads = _ou(root, "Workloads")
    units = {"root": root, "Workloads": workloads, "Prod": _ou(workloads, "Prod"), "Dev": _ou(workloads, "Dev")}
    units["Payments"] = _ou(units["Prod"], "Payments")
    units["Sandbox"] = _ou(root, "Sandbox")
    accounts = {}
    for place in ("Prod", "Payments", "Dev", "Sandbox"):
        accounts[place] = [_account(f"{place.lower()}-{n:02}", units[place], root) for n in range(12)]
    accounts["root"] = [_account(f"loose-{n}", root, root) for n in range(2)]
    closed = accounts["Prod"][:2]
    for account_id in closed:
        _org("close_account", AccountId=account_id)
    yield {"units": units, "accounts": accounts, "closed": closed}
    gateway._clients.clear()


def _connect(erin):
    return organizations.connect(
        actor=erin,
        role_arn=ORG_ROLE,
        external_id="org-ext",
        member_role_name="AccessPortalMember",
        member_external_id="member-ext",
    )


def test_discovery_records_the_whole_tree_and_governs_nothing_until_erin_chooses(organisation, cast):
    _connect(cast.erin)

    found = organizations.discover(actor=cast.erin)

    assert found.units == 6, "the root and five OUs"
    assert found.accounts == 51, "50 members and the management account"
    assert found.newly_governed == []
    payments = OrganizationalUnit.objects.get(ou_id=organisation["units"]["Payments"])
    assert payments.path() == "Root / Workloads / Prod / Payments"
    assert OrganizationAccount.objects.filter(ou=payments).count() == 12
    assert OrganizationAccount.objects.filter(status=OrgStatus.SUSPENDED).count() == 2
    assert not AwsAccount.objects.exists()
    assert AuditEvent.objects.filter(action=organizations.CONNECTED_ACTION, actor=cast.erin).count() == 1
    assert AuditEvent.objects.get(action=organizations.DISCOVERED_ACTION).after == {"units": 6, "accounts": 51}


def test_choosing_an_ou_governs_every_active_account_beneath_it_and_never_a_suspended_one(organisation, cast):
    _connect(cast.erin)
    organizations.discover(actor=cast.erin)

    governed = organizations.set_governed_ous(actor=cast.erin, ou_ids={organisation["units"]["Workloads"]})

    expected = set(organisation["accounts"]["Prod"][2:] + organisation["accounts"]["Payments"])
    expected |= set(organisation["accounts"]["Dev"])
    assert set(governed) == expected and len(expected) == 34
    assert set(AwsAccount.objects.values_list("account_id", flat=True)) == expected
    some = AwsAccount.objects.get(account_id=organisation["accounts"]["Payments"][0])
    assert some.role_arn == f"arn:aws:iam::{some.account_id}:role/AccessPortalMember"
    assert some.external_id == "member-ext"
    assert some.ou.ou_id == organisation["units"]["Payments"] and some.org_status == OrgStatus.ACTIVE
    assert some.name == "payments-00"
    assert AuditEvent.objects.filter(action=organizations.ACCOUNT_GOVERNED_ACTION).count() == 34
    choice = AuditEvent.objects.get(action=organizations.GOVERNED_OUS_ACTION)
    assert choice.actor == cast.erin and choice.after == {"ous": [organisation["units"]["Workloads"]]}


def test_the_daily_job_picks_up_a_new_account_and_notices_a_closed_one(organisation, cast):
    _connect(cast.erin)
    organizations.discover(actor=cast.erin)
    organizations.set_governed_ous(actor=cast.erin, ou_ids={organisation["units"]["Dev"]})
    newcomer = _account("dev-new", organisation["units"]["Dev"], organisation["units"]["root"])
    leaving = organisation["accounts"]["Dev"][0]
    _org("close_account", AccountId=leaving)

    result = tasks.discover_organization()

    assert result == {"units": 6, "accounts": 52, "newly_governed": 1}
    assert AwsAccount.objects.get(account_id=newcomer).org_status == OrgStatus.ACTIVE
    closed = AwsAccount.objects.get(account_id=leaving)
    assert closed.org_status == OrgStatus.SUSPENDED, "kept with its history, marked closed"
    status_change = AuditEvent.objects.get(action=organizations.ORG_STATUS_ACTION)
    assert status_change.before["org_status"] == "ACTIVE" and status_change.after["org_status"] == "SUSPENDED"
    assert tasks.discover_organization()["newly_governed"] == 0, "a second run governs nothing twice"
    assert AuditEvent.objects.filter(action=organizations.ACCOUNT_GOVERNED_ACTION).count() == 13


def _member_role(account_id: str, document: dict | None) -> None:
    """The member role in the account as a StackSet would leave it, its policy `document` (None: no policy)."""
    access = gateway.AccountAccess(account_id, f"arn:aws:iam::{account_id}:role/AccessPortalMember", "member-ext")
    gateway.call(access, "iam", "create_role", RoleName="AccessPortalMember", AssumeRolePolicyDocument=TRUST)
    if document:
        policy = {"RoleName": "AccessPortalMember", "PolicyName": "p", "PolicyDocument": json.dumps(document)}
        gateway.call(access, "iam", "put_role_policy", **policy)


def _allowing(actions) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


def test_each_accounts_connection_state_is_checked_with_its_reason(organisation, cast, settings):
    _connect(cast.erin)
    organizations.discover(actor=cast.erin)
    organizations.set_governed_ous(actor=cast.erin, ou_ids={organisation["units"]["Sandbox"]})
    account = AwsAccount.objects.get(account_id=organisation["accounts"]["Sandbox"][0])
    assert account.connection_state == AwsAccount.ConnectionState.UNKNOWN

    unreadable = organizations.check_connection(account.pk, actor=cast.erin)

    assert unreadable.connection_state == AwsAccount.ConnectionState.MISSING_PERMISSIONS
    assert "assumed-role/AccessPortalMember" in unreadable.connection_reason
    assert "could not read its own policies" in unreadable.connection_reason
    assert unreadable.missing_actions == list(organizations.READING_ITS_POLICIES)

    needed = organizations.required_actions()
    _member_role(account.account_id, _allowing(set(needed) - {"iam:CreateUser", "sso:CreateAccountAssignment"}))
    short = organizations.check_connection(account.pk)

    assert short.connection_state == AwsAccount.ConnectionState.MISSING_PERMISSIONS
    assert short.missing_actions == ["iam:CreateUser", "sso:CreateAccountAssignment"]
    assert "do not allow 2 action(s) the portal uses: iam:CreateUser, sso:CreateAccountAssignment" in (
        short.connection_reason
    )

    access = gateway.AccountAccess(account.account_id, account.role_arn, account.external_id)
    whole = json.dumps(_allowing(needed))
    gateway.call(access, "iam", "put_role_policy", RoleName="AccessPortalMember", PolicyName="p", PolicyDocument=whole)
    reached = organizations.check_connection(account.pk)

    assert (reached.connection_state, reached.missing_actions) == (AwsAccount.ConnectionState.REACHABLE, [])
    assert "its policies allow every call" in reached.connection_reason
    organizations.check_connection(account.pk)
    assert AuditEvent.objects.filter(action=organizations.CONNECTION_STATE_ACTION).count() == 3, "only changes"

    settings.AWS_ENDPOINT_URL, settings.AWS_MAX_ATTEMPTS = "http://127.0.0.1:9", 1  # nothing listens there
    lost = organizations.check_connection(account.pk)

    assert lost.connection_state == AwsAccount.ConnectionState.UNREACHABLE
    assert "Could not reach AWS" in lost.connection_reason
    assert AuditEvent.objects.filter(action=organizations.CONNECTION_STATE_ACTION).count() == 4


def test_the_console_lists_the_missing_actions_one_by_one(organisation, cast, client_for):
    _connect(cast.erin)
    organizations.discover(actor=cast.erin)
    organizations.set_governed_ous(actor=cast.erin, ou_ids={organisation["units"]["Sandbox"]})
    account = AwsAccount.objects.get(account_id=organisation["accounts"]["Sandbox"][0])
    _member_role(account.account_id, _allowing(set(organizations.required_actions()) - {"iam:CreateUser"}))
    organizations.check_connection(account.pk)

    page = client_for(cast.erin).get(reverse("iam:organization")).content.decode()

    assert "Role reachable, permissions missing" in page
    assert "1 missing action</summary>" in page and "<li><code>iam:CreateUser</code></li>" in page


def test_discovery_without_a_connection_is_refused(db):
    with pytest.raises(organizations.NotConnected):
        organizations.discover()


def test_erin_connects_and_governs_through_the_admin(organisation, cast, client_for):
    client = client_for(cast.erin)
    added = client.post(
        reverse("admin:catalog_organizationconnection_add"),
        {
            "role_arn": ORG_ROLE,
            "external_id": "org-ext",
            "member_role_name": "AccessPortalMember",
            "member_external_id": "member-ext",
        },
    )
    assert added.status_code == 302
    assert AuditEvent.objects.get(action=organizations.CONNECTED_ACTION).actor == cast.erin
    organizations.discover()
    sandbox = OrganizationalUnit.objects.get(ou_id=organisation["units"]["Sandbox"])

    response = client.post(
        reverse("admin:catalog_organizationalunit_changelist"),
        {"action": "govern", "_selected_action": [sandbox.pk]},
        follow=True,
    )

    assert "Governing 1 OU(s) and those beneath; 12 new account(s)." in response.content.decode()
    assert AwsAccount.objects.filter(ou=sandbox).count() == 12
    listed = client.get(reverse("admin:catalog_awsaccount_changelist")).content.decode()
    assert "Not checked yet" in listed


def test_people_who_are_not_governance_admins_do_not_see_the_organisation(organisation, cast, client_for):
    response = client_for(cast.bob).get(reverse("admin:catalog_organizationalunit_changelist"))

    assert response.status_code in (302, 403)


def test_the_console_shows_the_tree_and_erin_chooses_governed_ous_there(organisation, cast, client_for):
    _connect(cast.erin)
    organizations.discover()
    client = client_for(cast.erin)

    saved = client.post(
        reverse("iam:govern_ous"),
        {"ou": [organisation["units"]["Prod"], organisation["units"]["Sandbox"]]},
        follow=True,
    )

    page = saved.content.decode()
    assert "Governed OUs saved; 34 new account(s) governed." in page, "10 active in Prod, 12 in Payments, 12 in Sandbox"
    assert "Governed through a parent" in page, "Payments, beneath Prod"
    assert f'value="{organisation["units"]["Prod"]}" id=' in page
    payments_account = AwsAccount.objects.get(account_id=organisation["accounts"]["Payments"][0])
    assert payments_account.ou.path() in page
    assert "Not checked yet" in page


def test_auditors_read_the_organisation_page_but_cannot_choose(organisation, cast, client_for):
    _connect(cast.erin)
    organizations.discover()
    frank = cast.frank

    page = client_for(frank).get(reverse("iam:organization"))
    refused = client_for(frank).post(reverse("iam:govern_ous"), {"ou": [organisation["units"]["Dev"]]})
    alice_sees = client_for(cast.alice).get(reverse("iam:organization"))

    assert page.status_code == 200 and "Workloads" in page.content.decode()
    assert 'name="ou"' not in page.content.decode()
    assert refused.status_code == 403 and not AwsAccount.objects.exists()
    assert alice_sees.status_code == 403
