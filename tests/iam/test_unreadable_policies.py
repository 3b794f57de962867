"""A policy document the portal cannot read is an error on its entitlement, never the end of the import.

The cast: Erin (governance admin) imports the sandbox account from AWS; Frank (auditor) reads what came of
it. Someone has given the Identity Center permission set ReadOnly a hostile inline policy over the simulated
AWS's own API (moto, over HTTP): the import goes on with everything else, ReadOnly is imported all the same
with the problem stored on it in words, the run's summary counts and names it, and its page says what is
wrong. Its last documents read whole are kept, never some of the new ones; the next import that reads them
all clears the problem. Separation of duties says, rather than crashes, that a document could not be read.
"""

import json
import re
import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse

from access import services
from access.models import AccessRequest
from audit.models import AuditEvent
from catalog.models import Entitlement
from iam import tasks
from iam.catalog_import import import_runs, importer
from iam.facts import permissions
from iam.models import ImportRun
from sod import scan
from sod.models import EntitlementPermissions, SodRule
from sod.services import record_permissions

REASON = "Reading the billing reports for the quarterly close"


def policy(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


READ_BILLING = policy({"Effect": "Allow", "Action": ["aws-portal:ViewBilling"], "Resource": "*"})
READ_LOGS = policy({"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"})
GOOD = json.dumps(READ_BILLING)

# Hostile inline policies, each with the words the admin is shown.
HOSTILE = {
    "not JSON": ('{"Version": "2012-10-17", "Statement": [', "it is not JSON (Expecting value at line 1, column 41)"),
    "a raw NUL": (GOOD.replace("aws-portal", "aws\x00portal"), "it contains a NUL character"),
    "an escaped NUL": (GOOD.replace("aws-portal", "aws\\u0000portal"), "it contains a NUL character"),
    "nested 10,000 levels deep": (
        '{"Version": "2012-10-17", "Statement": ' + "[" * 10_000 + "]" * 10_000 + "}",
        "it is nested more than 32 levels deep",
    ),
    "nested 40 levels deep": (
        '{"Version": "2012-10-17", "Statement": ' + "[" * 40 + "]" * 40 + "}",
        "it is nested more than 32 levels deep",
    ),
    "a megabyte long": (
        json.dumps(policy({"Sid": "x" * 1_000_000, "Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
        "characters long, more than any policy AWS allows",
    ),
    "an integer past 64 bits": (
        json.dumps(
            policy(
                {
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"NumericLessThan": {"s3:max-keys": 2**64}},
                }
            )
        ),
        "it holds a number larger than 64 bits (18446744073709551616)",
    ),
    "an integer of 5,000 digits": (
        GOOD[:-1] + ', "Id": ' + "9" * 5_000 + "}",
        "it holds a number larger than 64 bits (999999999999999999999999…)",
    ),
    "a number past floating point": (GOOD[:-1] + ', "Id": 1e400}', "it holds a number too large to read (1e400)"),
    "NaN": (GOOD[:-1] + ', "Id": NaN}', "it is not JSON (NaN is not a number JSON allows)"),
    "invalid UTF-8, URL-encoded": ("%7B%22Version%22%3A%20%22%C3%28%22%7D", "it is not valid UTF-8 text"),
    "half a surrogate pair": (GOOD.replace("aws-portal", "aws\ud800portal"), "it is not valid UTF-8 text"),
    "a list, not an object": (json.dumps([READ_BILLING]), "it is a list, not a JSON object"),
    "no Statement": ('{"Version": "2012-10-17"}', "it has no Statement"),
    "a Statement that is a string": (
        '{"Version": "2012-10-17", "Statement": "Allow everything"}',
        "its Statement is a string, not a list or an object",
    ),
    "a statement that is a number": (json.dumps(policy(READ_LOGS["Statement"][0], 7)), "statement 2 is a number"),
    "an Action that is a number": (
        json.dumps(policy({"Effect": "Allow", "Action": 42, "Resource": "*"})),
        "the Action of its only statement is not a string or a list of strings",
    ),
    "an Action list holding an object": (
        json.dumps(policy({"Effect": "Allow", "Action": ["s3:GetObject", {"s3": "*"}], "Resource": "*"})),
        "the Action of its only statement is not a string or a list of strings",
    ),
    "an Effect that is neither": (
        json.dumps(policy({"Effect": "Maybe", "Action": "s3:*", "Resource": "*"})),
        "the Effect of its only statement is neither Allow nor Deny",
    ),
    "a Condition that is a list": (
        json.dumps(policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": ["mfa"]})),
        "the Condition of its only statement is not an object",
    ),
}


@pytest.fixture
def identity_center(aws, aws_direct, sandbox):
    """The sandbox's Identity Center with the ReadOnly permission set, and a group besides the sandbox's."""
    aws_direct("iam").create_group(GroupName="Auditors")
    admin = aws_direct("sso-admin")
    instance_arn = admin.list_instances()["Instances"][0]["InstanceArn"]
    arn = admin.create_permission_set(Name="ReadOnly", InstanceArn=instance_arn)["PermissionSet"]["PermissionSetArn"]
    sandbox.account.sso_instance_arn = instance_arn
    sandbox.account.save(update_fields=["sso_instance_arn"])

    def inline(text: str) -> None:
        admin.put_inline_policy_to_permission_set(InstanceArn=instance_arn, PermissionSetArn=arn, InlinePolicy=text)

    inline.arn = arn
    return inline


def import_as(person, account) -> ImportRun:
    """`person` asks for an import on the console and the worker runs it."""
    run, _ = import_runs.request_import(account_id=account.pk, actor=person)
    tasks.run_import.apply(args=[run.pk]).get()
    run.refresh_from_db()
    return run


def read_only() -> Entitlement:
    return Entitlement.objects.get(kind=Entitlement.Kind.SSO_PERMISSION_SET)


@pytest.mark.parametrize("hostile", list(HOSTILE), ids=list(HOSTILE))
def test_erins_import_goes_on_past_a_policy_it_cannot_read_and_says_what_is_wrong(
    hostile, identity_center, cast, sandbox
):
    text, words = HOSTILE[hostile]
    identity_center(text)

    run = import_as(cast.erin, sandbox.account)

    assert run.status == "succeeded", run.error
    assert (run.created, run.already_present, run.unreadable, run.unreadable_names) == (2, 2, 1, ["ReadOnly"])
    assert Entitlement.objects.filter(aws_name="Auditors").exists(), "the rest of the import went on"
    stored = EntitlementPermissions.objects.get(entitlement=read_only())
    assert stored.unreadable.startswith(f"Policy {identity_center.arn} (inline) could not be read: ")
    assert words in stored.unreadable
    assert (stored.documents, stored.error) == ([], "")
    assert AuditEvent.objects.filter(action="catalog.entitlement_imported", object_id=str(read_only().pk)).exists()
    everyone_else = EntitlementPermissions.objects.exclude(entitlement=read_only())
    assert everyone_else.count() == 3 and not everyone_else.exclude(unreadable="").exists()


def test_a_document_that_cannot_be_read_keeps_the_last_ones_read_whole_until_one_is_read_again(
    identity_center, cast, sandbox
):
    identity_center(GOOD)
    import_as(cast.erin, sandbox.account)
    first = EntitlementPermissions.objects.get(entitlement=read_only())
    assert (first.documents, first.unreadable) == (
        [{"source": f"{identity_center.arn} (inline)", "document": READ_BILLING}],
        "",
    )

    identity_center(json.dumps(READ_LOGS)[:-2])  # cut short: someone's tooling broke it
    again = import_as(cast.erin, sandbox.account)

    stored = EntitlementPermissions.objects.get(entitlement=read_only())
    assert (again.created, again.already_present, again.unreadable) == (0, 4, 1)
    assert stored.documents == first.documents, "nothing of the broken document was applied"
    assert "is not JSON" in stored.unreadable

    identity_center(json.dumps(READ_LOGS))
    fixed = import_as(cast.erin, sandbox.account)

    stored.refresh_from_db()
    assert (fixed.unreadable, fixed.unreadable_names) == (0, [])
    assert stored.unreadable == "" and stored.documents[0]["document"] == READ_LOGS


@pytest.fixture
def aws_managed_policies(monkeypatch):
    """The simulator's copy of AWS's managed policies, loaded at its next reset (asked for before `aws`)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def test_a_permission_set_with_one_unreadable_policy_among_readable_ones_keeps_none_of_the_new_ones(
    aws_managed_policies, identity_center, aws_direct, cast, sandbox
):
    """The managed policy arrives from IAM, decoded by botocore; the inline one from Identity Center, as text."""
    admin = aws_direct("sso-admin")
    instance_arn = sandbox.account.sso_instance_arn
    managed = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    admin.attach_managed_policy_to_permission_set(
        InstanceArn=instance_arn, PermissionSetArn=identity_center.arn, ManagedPolicyArn=managed
    )
    identity_center(json.dumps(policy({"Effect": "Allow", "Action": None, "Resource": "*"})))

    run = import_as(cast.erin, sandbox.account)

    stored = EntitlementPermissions.objects.get(entitlement=read_only())
    assert run.unreadable_names == ["ReadOnly"]
    assert stored.documents == [], "the readable managed policy alone is not applied"
    assert stored.unreadable == (
        f"Policy {identity_center.arn} (inline) could not be read: "
        "the Action of its only statement is not a string or a list of strings."
    )

    identity_center(GOOD)
    import_as(cast.erin, sandbox.account)

    stored.refresh_from_db()
    assert [item["source"] for item in stored.documents] == [f"{identity_center.arn} (inline)", managed]
    assert stored.unreadable == ""


def test_the_summary_and_the_entitlements_page_say_which_policy_and_what_is_wrong(
    identity_center, cast, sandbox, client_for
):
    identity_center("Statement: allow everything")
    run = import_as(cast.erin, sandbox.account)

    for reader in (cast.erin, cast.frank):
        summary = client_for(reader).get(reverse("iam:import_run", args=[run.pk])).content.decode()
        page = client_for(reader).get(reverse("access:entitlement_edit", args=[read_only().pk])).content.decode()
        listing = client_for(reader).get(reverse("access:entitlements")).content.decode()

        assert 'data-testid="import-created">2<' in summary and 'data-testid="import-unchanged">2<' in summary
        assert 'data-testid="import-unreadable">1: ReadOnly<' in summary
        assert "A policy document could not be read" in page
        assert f"Policy {identity_center.arn} (inline) could not be read: it is not JSON" in page
        assert listing.count('data-testid="unreadable-policy"') == 1
    assert client_for(cast.alice).get(reverse("access:entitlement_edit", args=[read_only().pk])).status_code == 403


def test_the_admins_list_of_entitlements_marks_the_one_with_an_unreadable_policy(
    identity_center, cast, sandbox, client_for
):
    identity_center("[]")
    import_as(cast.erin, sandbox.account)

    page = client_for(cast.erin).get(reverse("admin:catalog_entitlement_changelist")).content.decode()

    marks = re.findall(r'<td class="field-policies_readable"><img [^>]*alt="(\w+)"', page)
    assert sorted(marks) == ["False", "True", "True", "True"]


def test_the_daily_read_of_an_entitlements_policies_stores_the_problem_instead_of_stopping(
    identity_center, cast, sandbox
):
    identity_center(GOOD)
    import_as(cast.erin, sandbox.account)
    identity_center('{"Version": "2012-10-17", "Statement": "everything"}')

    assert permissions.fetch_permissions(read_only().pk) == 0

    stored = EntitlementPermissions.objects.get(entitlement=read_only())
    assert "its Statement is a string, not a list or an object" in stored.unreadable
    assert stored.documents[0]["document"] == READ_BILLING


def test_a_permission_rules_dry_run_says_a_held_entitlements_policy_could_not_be_read(
    identity_center, cast, sandbox, client_for
):
    identity_center("{not json")
    import_as(cast.erin, sandbox.account)
    services.grant_by_admin(actor=cast.erin, user=cast.alice, entitlement=read_only(), justification=REASON)
    form = {
        "name": "Read and hide billing",
        "why": "one person could read the bill and hide it",
        "kind": "permissions",
        "actions": "aws-portal:ViewBilling\naws-portal:ModifyBilling",
        "enforcement": "block",
        "severity": "high",
        "owner": cast.dave.pk,
    }

    response = client_for(cast.erin).post(reverse("sod:rule_dry_run"), form, HTTP_HX_REQUEST="true")

    text = response.content.decode()
    assert response.status_code == 200 and "Nobody holds this combination today." in text
    assert "A policy document of ReadOnly could not be read" in text


def test_checks_and_scans_over_documents_stored_before_they_were_checked_do_not_crash(cast, sandbox):
    """Rows written before documents were read through iam.facts.policy_text may hold anything JSON can."""
    legacy = [{"source": "a", "document": ["not", "an", "object"]}, {"source": "b", "document": {"Statement": "x"}}]
    wrong = {"Statement": [{"Effect": "Allow", "Action": [7, None], "Resource": "*"}, "stray"]}
    record_permissions(sandbox.developers, [*legacy, {"source": "c", "document": wrong}])
    SodRule.objects.create(
        name="Pass and create", why="x", kind="permissions", owner=cast.dave, actions=["iam:PassRole", "s3:GetObject"]
    )

    submitted = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    found = scan.scan_holdings({cast.alice.pk: {sandbox.developers.pk}})

    assert AccessRequest.objects.filter(pk=submitted.pk).exists() and found == {}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_import_saves_in_short_transactions_that_let_others_record_between_its_batches(
    aws, aws_direct, cast, sandbox
):
    """Twenty-five groups in batches of ten: three transactions, each recording its events with one record_many.
    Between two batches Alice asks for access on her own connection: were the import one transaction holding
    the audit chain's head, her request would wait for its end, and this one would never end."""
    for number in range(25):
        aws_direct("iam").create_group(GroupName=f"Team{number:02}")
    between, seen_outside = [], []

    def alice_asks():
        try:
            request = services.submit_request(
                requester=cast.alice, entitlement=sandbox.developers, justification=REASON
            )
            services.cancel_request(request_id=request.pk, actor=cast.alice)
            between.append(request.pk)
        finally:
            connection.close()

    def saved(done, total):
        seen_outside.append(transaction.get_connection().in_atomic_block)
        thread = threading.Thread(target=alice_asks)
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive()

    result = importer.import_entitlements(sandbox.account, actor=cast.erin, saved=saved, batch=10)

    assert (result.created, result.already_present) == (25, 2)
    assert seen_outside == [False, False, False] and len(between) == 3
    imported = list(
        AuditEvent.objects.filter(action="catalog.entitlement_imported")
        .order_by("seq")
        .values_list("seq", "created_at")
    )
    batches: dict = {}
    for seq, created_at in imported:
        batches.setdefault(created_at, []).append(seq)
    assert len(batches) == 3 and sum(len(seqs) for seqs in batches.values()) == 25
    for seqs in batches.values():
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "one record_many: one unbroken run of the chain"
    asked = AuditEvent.objects.filter(action="request.submitted").values_list("seq", flat=True)
    assert all(imported[0][0] < seq for seq in asked) and sum(seq < imported[-1][0] for seq in asked) == 2
