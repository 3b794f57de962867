from django.contrib import admin

from catalog.models import AwsAccount, Entitlement


@admin.register(AwsAccount)
class AwsAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "account_id", "sync_mode"]
    search_fields = ["name", "account_id"]


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "kind", "aws_name", "risk", "requestable"]
    list_filter = ["account", "kind", "risk", "requestable"]
    search_fields = ["name", "aws_name", "description"]
    autocomplete_fields = ["owners"]
    list_select_related = ["account"]
