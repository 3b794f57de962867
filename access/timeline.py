"""Turning a request's audit events into the lines of its timeline, in words a person reads."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from access.models import GrantActivity


class TimelineEvent(Protocol):
    """What a timeline reads of an audit event (`access.selectors.timelines_for`)."""

    created_at: datetime
    actor_name: str | None  # the actor as shown (User.__str__); None for the system
    actor_label: str
    action: str
    after: Any


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    tone: str  # a Bootstrap colour: success, danger, warning, info, secondary
    text: str
    detail: str = ""


def _who(event: TimelineEvent) -> str:
    if event.actor_name is not None:
        return event.actor_name
    return {
        "system:auto-approval": "automatic approval",
        "system:iam-sync": "the AWS sync",
        "system:expiry": "the expiry schedule",
        "system:escalation": "the escalation schedule",
        "system:break-glass": "break glass",
    }.get(event.actor_label, event.actor_label)


def _proof(after: dict) -> str:
    return " with a fresh authenticator code" if after.get("recent_mfa") else ""


def _entry(event) -> TimelineEntry | None:
    after = event.after or {}
    comment = after.get("comment") or ""
    # Once per event, not once per line of the table below (each a look at the actor).
    who, proof = _who(event), _proof(after)
    texts = {
        "request.submitted": ("info", f"Submitted by {who}", after.get("justification", "")),
        "request.auto_approved": ("success", "Approved automatically", after.get("policy", "")),
        "request.break_glass": (
            "danger",
            f"Break glass by {who}: granted at once, pre-approved",
            f"Ticket {after.get('ticket', '')}: {after.get('justification', '')}",
        ),
        "breakglass.review_opened": (
            "warning",
            "After-the-fact review opened for the approvers",
            f"Due {_when(after.get('due_at', ''))}",
        ),
        "breakglass.confirmed": ("success", f"Break glass confirmed by {who}{proof}", comment),
        "breakglass.revoked": ("danger", f"Break glass revoked by {who}{proof}", comment),
        "grant.break_glass_revoked": ("secondary", "Ended: revoked in the after-the-fact review", ""),
        "approval.approved": ("success", f"Approved by {who}{proof}", comment),
        "approval.escalated": ("warning", "Escalated", after.get("reason", "")),
        "approval.rerouted": ("info", "Re-routed: the manager changed", after.get("reason", "")),
        "request.approved": ("success", "Request approved", ""),
        "request.denied": ("danger", f"Denied by {who}", comment),
        "request.cancelled": ("secondary", f"Cancelled by {who}", ""),
        "request.expired": ("secondary", "Expired without a decision", ""),
        "grant.desired_present": ("info", "Queued to be applied in AWS", ""),
        "grant.applied": ("success", "Active in AWS (read back)", after.get("evidence", "")),
        "grant.sync_failed": ("danger", "Failed in AWS", after.get("error", "")),
        "grant.extended": ("success", "Extended", f"Now ends {_when(after.get('expires_at', ''))}"),
        "grant.given_back": ("secondary", f"Given back by {who}", ""),
        "grant.expired": ("secondary", "Ended: its time was up", ""),
        "grant.revoked": ("secondary", "Removed from AWS (read back)", after.get("evidence", "")),
    }
    if event.action not in texts:
        return None
    tone, text, detail = texts[event.action]
    return TimelineEntry(event.created_at, tone, text, detail)


def _when(iso: str) -> str:
    """'2026-12-06T14:05:00+00:00' -> '2026-12-06 14:05' (hour grants end within the day)."""
    return iso[:16].replace("T", " ")


def _activity(activity) -> TimelineEntry:
    """What was done with the grant, from CloudTrail (access.GrantActivity, written by iam.facts.cloudtrail)."""
    if not activity.configured:
        return TimelineEntry(
            activity.computed_at, "secondary", "Activity: CloudTrail is not configured for this account"
        )
    tone = "warning" if activity.flagged else "info"
    detail = ""
    if activity.flagged_event_ids:
        detail = "Flagged CloudTrail events: " + ", ".join(activity.flagged_event_ids[:10])
    return TimelineEntry(activity.computed_at, tone, f"Activity: {activity.words()}", detail)


def timeline(events: Iterable[TimelineEvent], activity: GrantActivity | None = None) -> list[TimelineEntry]:
    """The request's events in words; its grant's CloudTrail summary (if read) in its place by time."""
    entries = [entry for entry in map(_entry, events) if entry is not None]
    if activity is not None:
        entries.append(_activity(activity))
        entries.sort(key=lambda entry: entry.when)
    return entries
