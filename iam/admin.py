"""AWS accounts, reconcile runs and the drift register in the Django admin. Runs and the register are read
only; adopting goes through iam.reconcile.drift_actions, and an account's import through
iam.catalog_import.import_runs, as on the portal's pages.

AWS accounts are registered here rather than in `catalog` (where the model lives) because their import
action calls `iam.catalog_import.import_runs.request_import`, a layer above the catalog.
"""

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from audit.admin import AuditedAdmin, ReadOnlyAdmin
from audit.pagination import ADMIN_PAGE_SIZE, CappedPaginator
from catalog.models import AwsAccount, OrganizationAccount, OrganizationalUnit, OrganizationConnection
from iam import tasks
from iam.catalog_import import import_runs
from iam.facts import organizations
from iam.models import ImportRun, ReconcileRun, UnmanagedAccess
from iam.reconcile import drift_actions
from inputs.refusals import NotAllowed, Refusal
from outbox.services import enqueue


@admin.register(AwsAccount)
class AwsAccountAdmin(AuditedAdmin):
    list_display = ["name", "account_id", "sync_mode", "role_arn", "org_status", "connection_state"]
    list_filter = ["connection_state", "org_status"]
    search_fields = ["name", "account_id"]
    # Written by iam.facts.organizations (discovery and the role check), not by hand.
    readonly_fields = ["ou", "org_status", "connection_state", "connection_reason", "connection_checked_at"]
    actions = ["connect", "import_entitlements", "reconcile_now", "check_connection"]

    @admin.action(description="Check the role: can the portal assume it now?")
    def check_connection(self, request, queryset):
        for account in queryset.order_by("name"):
            checked = organizations.check_connection(account.pk, actor=request.user)
            report = (
                messages.success if checked.connection_state == AwsAccount.ConnectionState.REACHABLE else messages.error
            )
            report(request, f"{checked}: {checked.get_connection_state_display()}. {checked.connection_reason}")

    @admin.action(description="Connect: import entitlements, reconcile, adopt what portal people hold")
    def connect(self, request, queryset):
        for account in queryset:
            enqueue(tasks.connect_account.name, account.pk, request.user.pk)
        messages.success(
            request,
            f"Connecting {queryset.count()} account(s) in the background: existing access "
            "becomes imported grants, so the first review covers reality.",
        )

    @admin.action(description="Reconcile now (compare AWS with the ledger)")
    def reconcile_now(self, request, queryset):
        for account in queryset:
            enqueue(tasks.reconcile_account.name, account.pk)
        messages.success(request, f"Reconciling {queryset.count()} account(s); see Operations for the figures.")

    @admin.action(description="Import groups, policies, roles and permission sets from AWS")
    def import_entitlements(self, request, queryset):
        """What Governance → Entitlements → Import from AWS does, account by account: one run per account
        (one already under way is followed, not doubled), audited, with its progress page in the portal."""
        for account in queryset.order_by("name"):
            try:
                run, started = import_runs.request_import(account_id=account.pk, actor=request.user)
            except NotAllowed as exc:
                messages.error(request, exc.message)
                return
            except Refusal as exc:
                messages.error(request, f"{account}: {exc.message}")
                continue
            link = reverse("iam:import_run", args=[run.pk])
            if run.status == ImportRun.Status.FAILED:
                messages.error(request, f"{account}: {run.error}")
            elif not started:
                messages.info(
                    request,
                    format_html('An import of {} was already under way: <a href="{}">follow it</a>.', account, link),
                )
            else:
                messages.success(
                    request,
                    format_html(
                        'Importing from {} in the background: <a href="{}">follow its progress</a>. Imported '
                        "entitlements are not requestable until you review them; you are their owner until you "
                        "change it.",
                        account,
                        link,
                    ),
                )


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "started_at",
        "status",
        "mode",
        "api_calls",
        "principals_seen",
        "drift_found",
        "missing_reapplied",
        "changes_made",
    ]
    list_filter = ["status", "mode", "account"]
    list_select_related = ["account"]


@admin.register(UnmanagedAccess)
class UnmanagedAccessAdmin(ReadOnlyAdmin):
    list_display = ["aws_principal", "kind", "aws_name", "account", "person", "state", "first_seen", "last_seen"]
    list_filter = ["state", "kind", "account"]
    search_fields = ["aws_principal", "aws_name", "person__email"]
    list_select_related = ["account", "person"]
    actions = ["adopt"]

    @admin.action(description="Adopt into the ledger as imported grants")
    def adopt(self, request, queryset):
        for row in queryset:
            try:
                drift_actions.adopt(row.pk, request.user)
            except Refusal as exc:
                messages.warning(request, f"{row}: {exc.message}")
            else:
                messages.success(request, f"{row.aws_principal}'s {row.aws_name} is now a grant from import.")


class GovernanceAdminOnly(admin.ModelAdmin):
    """AWS Organizations decides which accounts the portal governs: governance admins only.

    A ModelAdmin itself, so its paginator overrides ModelAdmin's (as ReadOnlyAdmin's does) for the type checker."""

    show_full_result_count = False
    paginator = CappedPaginator  # no count of the whole table (docs/operations.md, "At a company's size")
    list_per_page = ADMIN_PAGE_SIZE

    def has_module_permission(self, request):
        return request.user.is_governance_admin

    def has_view_permission(self, request, obj=None):
        return request.user.is_governance_admin


@admin.register(OrganizationConnection)
class OrganizationConnectionAdmin(GovernanceAdminOnly):
    """Saving goes through iam.facts.organizations.connect (audited); discovery runs in the background."""

    list_display = ["role_arn", "member_role_name", "last_discovered_at", "last_error"]
    fields = ["role_arn", "external_id", "member_role_name", "member_external_id", "last_discovered_at", "last_error"]
    readonly_fields = ["last_discovered_at", "last_error"]
    actions = ["discover_now"]

    def has_add_permission(self, request):
        return request.user.is_governance_admin and not OrganizationConnection.objects.exists()

    def has_change_permission(self, request, obj=None):
        return request.user.is_governance_admin

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = organizations.connect(
            actor=request.user,
            role_arn=obj.role_arn,
            external_id=obj.external_id,
            member_role_name=obj.member_role_name,
            member_external_id=obj.member_external_id,
        )
        obj.pk = saved.pk

    @admin.action(description="Discover OUs and accounts now")
    def discover_now(self, request, queryset):
        enqueue(tasks.discover_organization.name)
        messages.success(request, "Discovering the organisation in the background; the OUs appear when it is done.")


@admin.register(OrganizationalUnit)
class OrganizationalUnitAdmin(GovernanceAdminOnly, ReadOnlyAdmin):
    """The OU tree as last discovered; governing is chosen with the actions, through the audited service."""

    list_display = ["__str__", "parent", "governed", "account_count"]
    list_select_related = ["parent"]
    list_filter = ["governed"]
    search_fields = ["name", "ou_id"]
    actions = ["govern", "stop_governing"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(direct_accounts=Count("accounts"))

    @admin.display(description="accounts directly in it", ordering="direct_accounts")
    def account_count(self, unit):
        return unit.direct_accounts

    def _choose(self, request, ou_ids: set[str]):
        try:
            newly = organizations.set_governed_ous(actor=request.user, ou_ids=ou_ids)
        except organizations.NotConnected as exc:
            messages.error(request, str(exc))
            return
        messages.success(request, f"Governing {len(ou_ids)} OU(s) and those beneath; {len(newly)} new account(s).")

    @admin.action(description="Govern the selected OUs (and every OU beneath them)")
    def govern(self, request, queryset):
        chosen = set(OrganizationalUnit.objects.filter(governed=True).values_list("ou_id", flat=True))
        self._choose(request, chosen | set(queryset.values_list("ou_id", flat=True)))

    @admin.action(description="Stop governing the selected OUs (accounts already governed stay)")
    def stop_governing(self, request, queryset):
        chosen = set(OrganizationalUnit.objects.filter(governed=True).values_list("ou_id", flat=True))
        self._choose(request, chosen - set(queryset.values_list("ou_id", flat=True)))


@admin.register(OrganizationAccount)
class OrganizationAccountAdmin(GovernanceAdminOnly, ReadOnlyAdmin):
    list_display = ["name", "account_id", "status", "ou", "last_seen_at"]
    list_filter = ["status", "ou"]
    search_fields = ["name", "account_id", "email"]
    list_select_related = ["ou"]
