"""Erin, a governance admin, looks after the catalog from the portal's menus alone, in headless Chromium:
Governance → Entitlements, one entitlement's owners and approval policy changed while the stages its
requests will go through follow her choices, then an import from AWS (the simulated account) followed
until it is done, never opening /admin/. Pages are photographed at 1280 and 390 px wide
(`SCREENS_DIR=docs/screens` refreshes the docs).
"""

import json

import pytest
from playwright.sync_api import expect

from access.routing import outline_stages
from audit.models import AuditEvent
from catalog.models import ApprovalPolicy, ApprovalStage, Entitlement
from iam.aws import gateway
from iam.models import ImportRun
from tests.browser import signing_in
from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths
from tests.browser.test_governance_console import UNLABELLED, photograph

TRUST_THE_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture
def security_review(cast):
    """The manager, then the entitlement's owners, then Dave for the security team."""
    policy = ApprovalPolicy.objects.create(name="Security review", fallback_approver=cast.erin)
    ApprovalStage.objects.create(policy=policy, order=1, approvers=ApprovalStage.Approvers.MANAGER)
    ApprovalStage.objects.create(policy=policy, order=2, approvers=ApprovalStage.Approvers.OWNERS, mode="all")
    security = ApprovalStage.objects.create(policy=policy, order=3, approvers=ApprovalStage.Approvers.NAMED)
    security.named_approvers.set([cast.dave])
    return policy


@pytest.fixture
def more_in_aws(aws):
    """Besides the catalog's two groups, AWS holds a group and a role the catalog has never heard of."""
    gateway.ensure_group(aws, "Auditors")
    gateway.call(aws, "iam", "create_role", RoleName="Deployer", AssumeRolePolicyDocument=json.dumps(TRUST_THE_ACCOUNT))


def open_entitlements(page) -> None:
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("button", name="Governance").click()
    menu.get_by_role("link", name="Entitlements").click()
    expect(page.get_by_role("heading", name="Entitlements", exact=True)).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_a_governance_admin_edits_an_entitlement_and_imports_from_aws_from_the_menus(
    browser, live_server, cast, sandbox, security_review, more_in_aws, celery_worker
):
    erin = signing_in.sign_in(browser, live_server, cast.erin.email, height=900)
    visited = []
    erin.on("request", lambda request: visited.append(request.url))

    open_entitlements(erin)
    erin.get_by_label("Search entitlements").fill("develop")
    expect(erin.get_by_test_id("entitlement-BreakGlass")).to_have_count(0)
    row = erin.get_by_test_id("entitlement-Developers")
    expect(row).to_contain_text("Carol Owner")
    erin.get_by_label("Search entitlements").fill("")
    expect(erin.get_by_test_id("entitlement-BreakGlass")).to_be_visible()
    photograph(erin, "entitlements")

    erin.get_by_role("link", name="Developers").click()
    expect(erin.get_by_role("heading", name="Developers")).to_be_visible()
    assert erin.evaluate(UNLABELLED) == []
    stages = erin.get_by_test_id("stages")
    expect(stages).to_contain_text("Built-in default for low risk")

    # Bob joins Carol as an owner, found by searching; the policy picker redraws the stages.
    erin.get_by_label("Search people by name or email").fill("bob")
    owners = erin.get_by_label("Owners", exact=True)
    owners.select_option(label=["Carol Owner (carol@example.com)", "Bob Manager (bob@example.com)"])
    erin.get_by_label("Approval policy").select_option(label="Security review")
    expect(stages.get_by_test_id("policy-name")).to_have_text("Security review")
    expect(stages.get_by_test_id("stage-1")).to_contain_text("Requester's manager")
    expect(stages.get_by_test_id("stage-2")).to_contain_text("Entitlement owner (Bob Manager, Carol Owner)")
    expect(stages.get_by_test_id("stage-2")).to_contain_text("All of them must approve")
    expect(stages.get_by_test_id("stage-3")).to_contain_text("Named approver (Dave Othermanager)")
    erin.get_by_label("Maximum duration (days)").fill("90")
    photograph(erin, "entitlement-edit")
    erin.get_by_role("button", name="Save", exact=True).click()

    expect(erin.get_by_role("alert").first).to_contain_text("Developers is saved.")
    assert_accessible(erin, "an entitlement saved")
    developers = Entitlement.objects.get(pk=sandbox.developers.pk)
    assert (developers.approval_policy, developers.max_duration_days) == (security_review, 90)
    assert set(developers.owners.all()) == {cast.bob, cast.carol}
    # What the page showed is what requests will go through.
    assert [stage.label for stage in outline_stages(developers, developers.owners.all()).stages] == [
        "Requester's manager",
        "Entitlement owner",
        "Named approver",
    ]
    assert AuditEvent.objects.filter(action="catalog.entitlement_changed", actor=cast.erin).count() == 1

    # Import from AWS, and watch it finish.
    erin.get_by_label("Breadcrumb").get_by_role("link", name="Entitlements").click()
    erin.get_by_role("link", name="Import from AWS").click()
    expect(erin.get_by_role("heading", name="Import from AWS")).to_be_visible()
    assert_accessible_at_both_widths(erin, "the accounts to import from")
    erin.get_by_role("button", name="Import from Sandbox").click()
    expect(erin.get_by_role("heading", name="Import from Sandbox")).to_be_visible()
    assert_accessible(erin, "an import under way")
    progress = erin.get_by_test_id("import-progress")
    expect(progress).to_contain_text("Import finished", timeout=60_000)
    expect(erin.get_by_test_id("import-created")).to_have_text("2")
    expect(progress).to_contain_text("4 entitlements")
    photograph(erin, "catalog-import")
    run = ImportRun.objects.get()
    assert (run.status, run.found, run.created, run.already_present) == ("succeeded", 4, 2, 2)

    # The new ones wait, unrequestable, for their terms to be reviewed.
    progress.get_by_role("link", name="Review the account's unrequestable entitlements").click()
    expect(erin.get_by_test_id("entitlement-Auditors")).to_contain_text("Erin Admin")
    expect(erin.get_by_test_id("entitlement-Deployer")).to_be_visible()
    assert_accessible_at_both_widths(erin, "the imported entitlements, waiting for their terms")
    assert not [url for url in visited if "/admin/" in url], "never opened the Django admin"
    assert not [url for url in visited if "csrfmiddlewaretoken" in url], "no CSRF token in a URL"
    assert [url for url in visited if "/stages/?" in url], "the stages were redrawn as Erin chose"
