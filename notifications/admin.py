from django.contrib import admin

from audit.admin import ReadOnlyAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Read only: to answer "was this person told?". Notifications are written by services alone."""

    list_display = ["created_at", "recipient", "kind", "title", "read_at", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__email", "recipient__full_name", "title"]
    # No date_hierarchy: its year links are a SELECT DISTINCT over every notification on each load.
