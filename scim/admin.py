"""Identity providers in the admin: governance admins issue a provider's token (shown once) and switch it off."""

from typing import ClassVar

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator

from audit.pagination import ADMIN_PAGE_SIZE, CappedPaginator
from audit.services import record
from scim.models import IdentityProvider, ProvisionedPerson
from scim.tokens import issue_token


class GovernanceAdminsOnly:
    show_full_result_count = False
    # No count of the whole table (docs/operations.md, "At a company's size"); a ClassVar, as ModelAdmin's is.
    paginator: ClassVar[type[Paginator]] = CappedPaginator
    list_per_page = ADMIN_PAGE_SIZE

    def has_module_permission(self, request):
        return request.user.is_governance_admin

    def has_view_permission(self, request, obj=None):
        return request.user.is_governance_admin

    def has_change_permission(self, request, obj=None):
        return request.user.is_governance_admin

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the people it provisioned keep naming it


@admin.register(IdentityProvider)
class IdentityProviderAdmin(GovernanceAdminsOnly, admin.ModelAdmin):
    list_display = ["name", "token_prefix", "token_issued_at", "is_active"]
    actions = ["issue_new_token"]

    def has_add_permission(self, request):
        return request.user.is_governance_admin  # a new provider comes with its token, shown once

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else ["name", "token_prefix", "token_issued_at", "is_active", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["name", "token_prefix", "token_issued_at", "created_at"]

    @admin.action(description="Issue a new SCIM token (shown once; the old one stops working)")
    def issue_new_token(self, request, queryset):
        if not request.user.is_governance_admin:
            raise PermissionDenied
        for provider in queryset.order_by("pk"):
            _, token = issue_token(name=provider.name, actor=request.user)
            self._show_once(request, provider, token)

    def _show_once(self, request, provider, token: str) -> None:
        self.message_user(
            request,
            f"New SCIM token for {provider.name}, shown only now — paste it into the IdP: {token}",
            messages.WARNING,
        )

    def save_model(self, request, obj, form, change):
        if not change:
            provider, token = issue_token(name=obj.name, actor=request.user)
            obj.pk, obj.token_prefix = provider.pk, provider.token_prefix
            self._show_once(request, provider, token)
            return
        super().save_model(request, obj, form, change)
        if "is_active" in form.changed_data:
            record(
                actor=request.user,
                action="scim.provider_enabled" if obj.is_active else "scim.provider_disabled",
                obj=obj,
                after={"name": obj.name, "is_active": obj.is_active},
            )


@admin.register(ProvisionedPerson)
class ProvisionedPersonAdmin(GovernanceAdminsOnly, admin.ModelAdmin):
    list_display = ["person", "provider", "external_id", "linked_at"]
    list_select_related = ["person", "provider"]
    readonly_fields = ["person", "provider", "external_id", "linked_at"]
