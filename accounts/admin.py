from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts import roles
from accounts.models import FeedRun, LastGovernanceAdmin, User
from accounts.signals import name_changed
from audit.admin import AuditedAdmin, ListedAdmin, ReadOnlyAdmin
from audit.services import record
from inputs.admin import IdsOnlyAdmin


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    """People, with every add, edit and delete in the audit trail (who made whom an admin or an auditor)."""

    # Name then email (unique): a total order that the index `user_by_name` serves as it is, so the
    # admin adds no "-pk" of its own that would sort every person for one page.
    ordering = ["full_name", "email"]
    list_display = ["full_name", "email", "department", "manager", "employment_status", "is_superuser", "is_auditor"]
    # Not `department`: its choices would be a SELECT DISTINCT over everyone (search finds a department).
    list_filter = ["employment_status", "is_superuser", "is_auditor"]
    list_select_related = ["manager"]
    # The password hash never goes into the audit trail; setting a password is audited on its own below.
    audit_secret_fields = ("password",)
    search_fields = ["full_name", "email", "department"]
    autocomplete_fields = ["manager"]
    actions = ["mark_leavers"]
    # Leaving goes through the portal's confirmation, which the action opens (and the HR feed and the API),
    # and which also ends all access.
    readonly_fields = ["employment_status", "left_at", "last_login", "date_joined"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "full_name" in form.changed_data:
            name_changed.send(sender=User, person=obj)

    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "title", "department", "manager", "employment_status", "left_at"]}),
        ("AWS identity", {"fields": ["iam_user_name"]}),
        ("Portal permissions", {"fields": ["is_active", "is_staff", "is_superuser", "is_auditor"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]}),
    ]

    def get_actions(self, request):
        # People are deleted one at a time (a bulk delete is a queryset delete, which would skip the
        # model's guard that the last governance admin stays; accounts.models.User.keep_a_governance_admin).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and roles.is_governance_admin(obj):
            try:
                obj.keep_a_governance_admin(deleting=True)
            except LastGovernanceAdmin:
                return False
        return super().has_delete_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:  # the form was valid and saved
                record(actor=request.user, action="accounts.user_password_set", obj=self.get_object(request, id))
        return response

    @admin.action(description="Mark as leaver… (opens the confirmation listing what they lose)")
    def mark_leavers(self, request, queryset):
        """Never marks anyone here: the portal's confirmation (Governance → People) lists what the person
        loses and marks them through `mark_leaver` once it is confirmed, one person at a time."""
        if not roles.is_governance_admin(request.user):
            messages.error(request, "Only governance admins may mark leavers.")
            return None
        people = list(queryset[:2])
        if len(people) != 1:
            messages.warning(
                request,
                "Tick one person: each leaver is confirmed on their own page, which lists everything they lose.",
            )
            return None
        return HttpResponseRedirect(reverse("access:leaver", args=[people[0].pk]))


# Identity providers come from the environment only (accounts/sso.py ignores rows here) and tokens
# are never stored; who is linked to which identity is evidence, shown read-only. A second factor can
# only be removed (a person who lost their phone; audited, secret not copied): they enrol a new one
# at their next sign-in.
admin.site.unregister(SocialApp)
admin.site.unregister(SocialToken)
admin.site.unregister(SocialAccount)
admin.site.unregister(Authenticator)
admin.site.unregister(Group)
admin.site.unregister(EmailAddress)


@admin.register(Group)
class GroupAdmin(IdsOnlyAdmin, ListedAdmin, DjangoGroupAdmin):
    """Django's, with permissions and actions taking ids only (a 20-digit one is a form error, not a 500)."""


@admin.register(EmailAddress)
class EmailAddressAdmin(ListedAdmin, AllauthEmailAddressAdmin):
    """allauth's, showing each address's person without a query per row, and no count of all of them."""

    list_select_related = ["user"]


@admin.register(SocialAccount)
class SocialAccountAdmin(ReadOnlyAdmin):
    list_display = ["user", "provider", "uid", "last_login", "date_joined"]
    search_fields = ["user__email", "uid"]
    list_select_related = ["user"]
    exclude = ["extra_data"]


@admin.register(Authenticator)
class AuthenticatorAdmin(AuditedAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    exclude = ["data"]
    audit_secret_fields = ("data",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FeedRun)
class FeedRunAdmin(ReadOnlyAdmin):
    """HR feed runs (`manage.py import_people`): how far each got, and why one stopped. Written only by
    accounts.hr_feed, batch by batch; a stopped run carries on when the same file is run again."""

    list_display = [
        "started_at",
        "file_name",
        "requested_label",
        "state",
        "progress",
        "joined",
        "moved",
        "left",
        "unchanged",
        "updated_at",
        "finished_at",
    ]
    list_filter = ["state"]
    search_fields = ["file_name", "file_digest"]
    readonly_fields = ["progress"]

    @admin.display(description="rows applied")
    def progress(self, run: FeedRun) -> str:
        return f"{run.rows_applied:,} of {run.total_rows:,} ({run.percent}%)"
