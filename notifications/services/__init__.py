"""Telling people what happened: creating notifications, marking them read, emailing them.

Tasks, pages and the admin call these; nothing else writes notifications.
"""

from notifications.services.approver_reminders import remind_approvers
from notifications.services.delivery import mark_all_read, send_pending_emails
from notifications.services.events import (
    notify_access_ending,
    notify_approval_needed,
    notify_break_glass_review,
    notify_grant_synced,
    notify_request_decided,
)
from notifications.services.sod import notify_sod_exception_expired

__all__ = [
    "mark_all_read",
    "notify_access_ending",
    "notify_approval_needed",
    "notify_break_glass_review",
    "notify_grant_synced",
    "notify_request_decided",
    "notify_sod_exception_expired",
    "remind_approvers",
    "send_pending_emails",
]
