"""The full reconcile of an account's IAM groups: drift reported, enforced, adopted; missing access re-applied.

AWS is changed out of band with a plain boto3 client, as someone with console access would.
"""

import pytest

from access.models import Grant
from audit.models import AuditEvent
from iam.apply import sync
from iam.models import ReconcileRun, UnmanagedAccess
from iam.reconcile import drift_actions, reconcile
from inputs.refusals import InvalidInput, NotAllowed, NotFound, StaleState
from tests.iam.conftest import give_back

ACCOUNT_ID = "123456789012"


def groups_of(aws_direct, user_name: str) -> set[str]:
    return {group["GroupName"] for group in aws_direct("iam").list_groups_for_user(UserName=user_name)["Groups"]}


def figures(run: ReconcileRun) -> dict:
    return {
        "status": run.status,
        "api_calls": run.api_calls,
        "principals_seen": run.principals_seen,
        "drift_found": run.drift_found,
        "changes_made": run.changes_made,
        "missing_reapplied": run.missing_reapplied,
    }


def enforce(account):
    account.sync_mode = account.SyncMode.ENFORCE
    account.save(update_fields=["sync_mode"])


@pytest.fixture
def applied_grant(aws, sandbox, grant_of):
    """Alice's Developers membership, approved and applied through the portal."""
    grant = grant_of(sandbox.developers)
    assert sync.sync_grant(grant.pk).result == "applied"
    grant.refresh_from_db()
    return grant


def test_a_clean_account_costs_one_call_and_changes_nothing(aws, sandbox, applied_grant):
    run = reconcile.reconcile_account(sandbox.account.pk)

    assert figures(run) == {
        "status": "succeeded",
        "api_calls": 1,
        "principals_seen": 5,
        "drift_found": 0,
        "changes_made": 0,
        "missing_reapplied": 0,
    }
    assert run.mode == "report" and run.finished_at >= run.started_at
    assert not UnmanagedAccess.objects.exists()


def test_membership_added_out_of_band_is_reported_in_report_mode(aws, aws_direct, sandbox, cast):
    aws_direct("iam").add_user_to_group(GroupName="Developers", UserName="alice")

    run = reconcile.reconcile_account(sandbox.account.pk)

    row = UnmanagedAccess.objects.get()
    assert (row.kind, row.aws_principal, row.aws_name, row.state) == ("iam_group", "alice", "Developers", "open")
    assert (row.person, row.entitlement) == (cast.alice, sandbox.developers)
    assert row.first_seen == row.last_seen
    assert "Developers" in groups_of(aws_direct, "alice"), "report mode leaves AWS alone"
    found = AuditEvent.objects.get(action="drift.found")
    assert (found.actor, found.actor_label, found.object_id) == (None, "system:reconciler", str(row.pk))
    assert found.after["mode"] == "report"
    assert figures(run) == {
        "status": "succeeded",
        "api_calls": 1,
        "principals_seen": 5,
        "drift_found": 1,
        "changes_made": 1,
        "missing_reapplied": 0,
    }


def test_membership_added_out_of_band_is_removed_in_enforce_mode(aws, aws_direct, sandbox):
    enforce(sandbox.account)
    aws_direct("iam").add_user_to_group(GroupName="Developers", UserName="alice")

    run = reconcile.reconcile_account(sandbox.account.pk)

    assert groups_of(aws_direct, "alice") == set()
    row = UnmanagedAccess.objects.get()
    assert row.state == "removed" and row.resolved_at is not None and row.resolved_by is None
    removed = AuditEvent.objects.get(action="drift.removed")
    assert removed.actor_label == "system:reconciler"
    assert removed.after["evidence"] == f"alice is not a member of Developers in {ACCOUNT_ID} (read back)"
    # The walk, then RemoveUserFromGroup and ListGroupsForUser (the read back).
    assert (run.api_calls, run.drift_found, run.changes_made) == (3, 1, 2)


def test_enforce_mode_only_reports_protected_principals(aws, aws_direct, sandbox):
    enforce(sandbox.account)
    sandbox.account.protected_principals = "breakglass-operator\nalice\n"
    sandbox.account.save(update_fields=["protected_principals"])
    aws_direct("iam").add_user_to_group(GroupName="Developers", UserName="alice")

    reconcile.reconcile_account(sandbox.account.pk)

    assert groups_of(aws_direct, "alice") == {"Developers"}
    assert UnmanagedAccess.objects.get().state == "open"


def test_reported_drift_is_adopted_as_an_imported_grant_and_then_reported_no_more(aws, aws_direct, sandbox, cast):
    aws_direct("iam").add_user_to_group(GroupName="Developers", UserName="alice")
    reconcile.reconcile_account(sandbox.account.pk)
    row = UnmanagedAccess.objects.get()

    grant = drift_actions.adopt(row.pk, cast.erin)

    assert (grant.user, grant.entitlement, grant.source, grant.request) == (
        cast.alice,
        sandbox.developers,
        "import",
        None,
    )
    assert (grant.desired, grant.sync_state, grant.verified_at) == ("present", "applied", row.last_seen)
    row.refresh_from_db()
    assert (row.state, row.resolved_by) == ("adopted", cast.erin)
    adopted = AuditEvent.objects.get(action="drift.adopted")
    assert (adopted.actor, adopted.after["grant"]) == (cast.erin, grant.pk)
    assert AuditEvent.objects.get(action="grant.adopted").object_id == str(grant.pk)

    again = reconcile.reconcile_account(sandbox.account.pk)

    assert (again.drift_found, again.changes_made) == (0, 0)
    assert not UnmanagedAccess.objects.filter(state="open").exists()
    assert "Developers" in groups_of(aws_direct, "alice")


def test_only_governance_admins_adopt_and_only_open_drift(aws, aws_direct, sandbox, cast):
    aws_direct("iam").add_user_to_group(GroupName="Developers", UserName="alice")
    reconcile.reconcile_account(sandbox.account.pk)
    row = UnmanagedAccess.objects.get()

    with pytest.raises(NotAllowed):
        drift_actions.adopt(row.pk, cast.carol)
    with pytest.raises(NotFound):
        drift_actions.adopt(row.pk + 1000, cast.erin)
    drift_actions.adopt(row.pk, cast.erin)
    with pytest.raises(StaleState, match="adopted"):
        drift_actions.adopt(row.pk, cast.erin)
    assert Grant.objects.count() == 1


def test_drift_outside_the_catalog_cannot_be_adopted_before_an_import(aws, aws_direct, sandbox, cast):
    iam = aws_direct("iam")
    iam.create_group(GroupName="Auditors")
    iam.add_user_to_group(GroupName="Auditors", UserName="alice")
    reconcile.reconcile_account(sandbox.account.pk)
    row = UnmanagedAccess.objects.get()
    assert (row.person, row.entitlement) == (cast.alice, None)

    with pytest.raises(InvalidInput, match="import the account's entitlements first"):
        drift_actions.adopt(row.pk, cast.erin)

    row.refresh_from_db()
    assert row.state == "open" and not Grant.objects.exists()


def test_an_iam_user_unknown_to_the_portal_is_reported_without_a_person(aws, aws_direct, sandbox, cast):
    iam = aws_direct("iam")
    iam.create_user(UserName="legacy-ci")
    iam.add_user_to_group(GroupName="BreakGlass", UserName="legacy-ci")

    run = reconcile.reconcile_account(sandbox.account.pk)

    row = UnmanagedAccess.objects.get()
    assert (row.aws_principal, row.person, row.entitlement) == ("legacy-ci", None, sandbox.breakglass)
    assert run.principals_seen == 6
    with pytest.raises(InvalidInput, match="not a portal person"):
        drift_actions.adopt(row.pk, cast.erin)


def test_an_iam_user_name_override_maps_the_user_to_the_person(aws, aws_direct, sandbox, cast):
    cast.dave.iam_user_name = "dave.ops"
    cast.dave.save(update_fields=["iam_user_name"])
    iam = aws_direct("iam")
    iam.create_user(UserName="dave.ops")
    iam.add_user_to_group(GroupName="BreakGlass", UserName="dave.ops")

    reconcile.reconcile_account(sandbox.account.pk)

    assert UnmanagedAccess.objects.get().person == cast.dave


def test_membership_removed_out_of_band_is_reapplied_and_reported(aws, aws_direct, sandbox, applied_grant):
    aws_direct("iam").remove_user_from_group(GroupName="Developers", UserName="alice")

    run = reconcile.reconcile_account(sandbox.account.pk)

    applied_grant.refresh_from_db()
    assert applied_grant.sync_state == "pending"
    assert (run.missing_reapplied, run.drift_found, run.changes_made) == (1, 1, 1)
    missing = AuditEvent.objects.get(action="grant.drift_missing")
    assert (missing.object_id, missing.actor_label) == (str(applied_grant.pk), "system:reconciler")
    assert "shows no Developers for alice in 123456789012" in missing.after["evidence"]
    assert not UnmanagedAccess.objects.exists()

    assert sync.sync_grant(applied_grant.pk).result == "applied"

    assert "Developers" in groups_of(aws_direct, "alice")
    again = reconcile.reconcile_account(sandbox.account.pk)
    assert (again.drift_found, again.changes_made) == (0, 0)


def test_removed_access_put_back_out_of_band_is_removed_again(aws, aws_direct, sandbox, applied_grant):
    give_back(applied_grant)
    assert sync.sync_grant(applied_grant.pk).result == "applied"
    aws_direct("iam").add_user_to_group(GroupName="Developers", UserName="alice")

    run = reconcile.reconcile_account(sandbox.account.pk)

    applied_grant.refresh_from_db()
    assert (applied_grant.desired, applied_grant.sync_state) == ("absent", "pending")
    assert AuditEvent.objects.get(action="grant.drift_still_present").object_id == str(applied_grant.pk)
    assert not UnmanagedAccess.objects.exists(), "the ledger holds it: not unmanaged"
    assert (run.drift_found, run.changes_made) == (1, 1)

    assert sync.sync_grant(applied_grant.pk).result == "applied"

    assert groups_of(aws_direct, "alice") == set()


def test_drift_that_disappears_by_itself_is_closed_as_gone(aws, aws_direct, sandbox):
    iam = aws_direct("iam")
    iam.add_user_to_group(GroupName="Developers", UserName="bob")
    reconcile.reconcile_account(sandbox.account.pk)
    iam.remove_user_from_group(GroupName="Developers", UserName="bob")

    run = reconcile.reconcile_account(sandbox.account.pk)

    row = UnmanagedAccess.objects.get()
    assert row.state == "gone" and row.resolved_at is not None
    assert AuditEvent.objects.get(action="drift.gone").object_id == str(row.pk)
    assert (run.drift_found, run.changes_made) == (0, 1)


@pytest.mark.parametrize("mode", ["report", "enforce"])
def test_a_second_reconcile_in_a_row_changes_nothing(mode, aws, aws_direct, sandbox, applied_grant):
    sandbox.account.sync_mode = mode
    sandbox.account.save(update_fields=["sync_mode"])
    iam = aws_direct("iam")
    iam.add_user_to_group(GroupName="BreakGlass", UserName="bob")
    iam.remove_user_from_group(GroupName="Developers", UserName="alice")
    first = reconcile.reconcile_account(sandbox.account.pk)
    events = AuditEvent.objects.count()
    rows = list(UnmanagedAccess.objects.values_list("pk", "state", "first_seen"))

    second = reconcile.reconcile_account(sandbox.account.pk)

    assert first.changes_made > 0
    assert second.changes_made == 0 and second.missing_reapplied == 0
    assert second.drift_found == (1 if mode == "report" else 0), "reported drift is still there; enforced is gone"
    assert AuditEvent.objects.count() == events
    assert list(UnmanagedAccess.objects.values_list("pk", "state", "first_seen")) == rows
    applied_grant.refresh_from_db()
    assert applied_grant.sync_state == "pending", "queued once, not twice"
