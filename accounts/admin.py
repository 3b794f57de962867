from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User
from accounts.services import PeopleError, mark_leaver


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["full_name"]
    list_display = ["full_name", "email", "department", "manager", "employment_status", "is_superuser"]
    list_filter = ["employment_status", "department", "is_superuser"]
    search_fields = ["full_name", "email", "department"]
    autocomplete_fields = ["manager"]
    actions = ["mark_leavers"]
    # Leaving goes through the action (and the HR feed), which also ends all access.
    readonly_fields = ["employment_status", "left_at", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "title", "department", "manager", "employment_status", "left_at"]}),
        ("AWS identity", {"fields": ["iam_user_name"]}),
        ("Portal permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]}),
    ]

    @admin.action(description="Mark as leaver and remove all their access")
    def mark_leavers(self, request, queryset):
        for person in queryset:
            try:
                mark_leaver(person=person, actor=request.user)
            except PeopleError as exc:
                messages.warning(request, exc.message)
            else:
                messages.success(request, f"{person} is a leaver; all their access is being removed from AWS.")
