"""Turning a request's audit events into the lines of its timeline, in words a person reads."""

from collections.abc import Callable, Iterable
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


# Each action's line: its tone, its text and its detail, from the actor's name, the proof of a fresh second
# factor, the event's `after` and its comment. Written only for the event's own action: a table of every
# line, built for each event, wrote 22 lines to keep one (some 200 events a page).
_LINES: dict[str, Callable[[str, str, dict, str], tuple[str, str, str]]] = {
    "request.submitted": lambda who, proof, after, comment: (
        "info",
        f"Submitted by {who}",
        after.get("justification", ""),
    ),
    "request.auto_approved": lambda who, proof, after, comment: (
        "success",
        "Approved automatically",
        after.get("policy", ""),
    ),
    "request.break_glass": lambda who, proof, after, comment: (
        "danger",
        f"Break glass by {who}: granted at once, pre-approved",
        f"Ticket {after.get('ticket', '')}: {after.get('justification', '')}",
    ),
    "breakglass.review_opened": lambda who, proof, after, comment: (
        "warning",
        "After-the-fact review opened for the approvers",
        f"Due {_when(after.get('due_at', ''))}",
    ),
    "breakglass.confirmed": lambda who, proof, after, comment: (
        "success",
        f"Break glass confirmed by {who}{proof}",
        comment,
    ),
    "breakglass.revoked": lambda who, proof, after, comment: (
        "danger",
        f"Break glass revoked by {who}{proof}",
        comment,
    ),
    "grant.break_glass_revoked": lambda who, proof, after, comment: (
        "secondary",
        "Ended: revoked in the after-the-fact review",
        "",
    ),
    "approval.approved": lambda who, proof, after, comment: ("success", f"Approved by {who}{proof}", comment),
    "approval.escalated": lambda who, proof, after, comment: ("warning", "Escalated", after.get("reason", "")),
    "approval.rerouted": lambda who, proof, after, comment: (
        "info",
        "Re-routed: the manager changed",
        after.get("reason", ""),
    ),
    "request.approved": lambda who, proof, after, comment: ("success", "Request approved", ""),
    "request.denied": lambda who, proof, after, comment: ("danger", f"Denied by {who}", comment),
    "request.cancelled": lambda who, proof, after, comment: ("secondary", f"Cancelled by {who}", ""),
    "request.expired": lambda who, proof, after, comment: ("secondary", "Expired without a decision", ""),
    "grant.desired_present": lambda who, proof, after, comment: ("info", "Queued to be applied in AWS", ""),
    "grant.applied": lambda who, proof, after, comment: (
        "success",
        "Active in AWS (read back)",
        after.get("evidence", ""),
    ),
    "grant.sync_failed": lambda who, proof, after, comment: ("danger", "Failed in AWS", after.get("error", "")),
    "grant.extended": lambda who, proof, after, comment: (
        "success",
        "Extended",
        f"Now ends {_when(after.get('expires_at', ''))}",
    ),
    "grant.given_back": lambda who, proof, after, comment: ("secondary", f"Given back by {who}", ""),
    "grant.expired": lambda who, proof, after, comment: ("secondary", "Ended: its time was up", ""),
    "grant.revoked": lambda who, proof, after, comment: (
        "secondary",
        "Removed from AWS (read back)",
        after.get("evidence", ""),
    ),
}


def _entry(event) -> TimelineEntry | None:
    line = _LINES.get(event.action)
    if line is None:
        return None
    after = event.after or {}
    tone, text, detail = line(_who(event), _proof(after), after, after.get("comment") or "")
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
