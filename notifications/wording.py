"""What each notification says. Pure functions of the records: no queries, no writes.

Titles double as email subjects, so each one says what happened and to what, on one line.
Text people typed (justifications, comments) and AWS errors are cut short: a notification
points to the page with the whole story, it does not replace it.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.timezone import localtime

from access.models import Grant

QUOTE_CHARS = 300
ERROR_CHARS = 500
REMINDER_ITEMS = 5


@dataclass(frozen=True)
class Wording:
    title: str
    body: str


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace: email subjects may not contain line breaks."""
    return Truncator(" ".join(str(text).split())).chars(limit)


def _quote(text: str) -> str:
    return f"“{Truncator(text.strip()).chars(QUOTE_CHARS)}”"


def _when(moment) -> str:
    return date_format(localtime(moment), "j F Y, H:i T")


def _what_for(access_request) -> str:
    return f"{access_request.entitlement.name} for {access_request.beneficiary}"


def approval_needed(stage, reason: str) -> Wording:
    access_request = stage.request
    entitlement = access_request.entitlement
    asks = f"{access_request.requester} asks for {entitlement.name} in {entitlement.account.name}"
    if access_request.beneficiary_id != access_request.requester_id:
        asks += f" for {access_request.beneficiary}"
    if access_request.duration_days:
        asks += f", for {access_request.duration_days} days"
    body = f"{asks}: {_quote(access_request.justification)}\nStage {stage.step} ({stage.label}). Why you: {reason}."
    return Wording(one_line(f"Approval needed: {_what_for(access_request)}"), body)


def request_approved(access_request, approvals: list) -> Wording:
    """`approvals`: the request's approved assignments, in the order they were cast."""
    parts = []
    for assignment in approvals:
        if assignment.automatic:
            parts.append(f"approved automatically ({assignment.reason})")
        else:
            said = f": {_quote(assignment.comment)}" if assignment.comment else ""
            parts.append(f"approved by {assignment.decided_by}{said}")
    decided = "; ".join(parts) or "approved"
    body = (
        f"{decided[0].upper()}{decided[1:]}.\nThe access is now being set up in AWS; "
        "you will get another message when it is live."
    )
    return Wording(one_line(f"Request approved: {_what_for(access_request)}"), body)


def request_denied(access_request, denial) -> Wording:
    """`denial`: the assignment that denied the request, or None if the data has none."""
    if denial is None or denial.decided_by is None:
        body = "The request was denied."
    elif denial.comment:
        body = f"Denied by {denial.decided_by}: {_quote(denial.comment)}"
    else:
        body = f"Denied by {denial.decided_by}. No reason was given; ask them if it is unclear."
    return Wording(one_line(f"Request denied: {_what_for(access_request)}"), body)


def request_expired(access_request) -> Wording:
    body = (
        f"Nobody decided it within {settings.REQUEST_EXPIRY_DAYS} days, so it was closed. "
        "You can ask again from the catalog."
    )
    return Wording(one_line(f"Request expired: {_what_for(access_request)}"), body)


def access_live(grant) -> Wording:
    entitlement = grant.entitlement
    body = f"Your access to {entitlement.name} in {entitlement.account.name} is live in AWS."
    if grant.expires_at:
        body += f" It ends on {_when(grant.expires_at)}; you can ask to extend it from My access."
    return Wording(one_line(f"Your access to {entitlement.name} is live in AWS"), body)


def sync_failed_for_holder(grant) -> Wording:
    entitlement = grant.entitlement
    body = (
        f"Your access to {entitlement.name} in {entitlement.account.name} could not be set up in AWS. "
        f"The error was: {Truncator(grant.last_error).chars(ERROR_CHARS) or 'not recorded'}\n"
        "The governance admins were told and will fix it; you do not need to ask again."
    )
    return Wording(one_line(f"Access not set up: {entitlement.name} in {entitlement.account.name}"), body)


def sync_failed_for_admins(grant) -> Wording:
    entitlement = grant.entitlement
    change = "Granting" if grant.desired == Grant.Desired.PRESENT else "Removing"
    body = (
        f"{change} {entitlement.name} in {entitlement.account.name} for {grant.user} failed and will not be "
        f"retried until the cause is fixed. The error was: {Truncator(grant.last_error).chars(ERROR_CHARS)}"
    )
    return Wording(one_line(f"AWS sync failed: {entitlement.name} for {grant.user}"), body)


def access_ending(grant, days: int, now) -> Wording:
    """`days`: the reminder being sent (7 or 1); a grant that never had that long says what is left."""
    entitlement = grant.entitlement
    left = min(days, max(1, math.ceil((grant.expires_at - now) / timedelta(days=1))))
    when = "within a day" if left == 1 else f"in {left} days"
    body = (
        f"Your access to {entitlement.name} in {entitlement.account.name} ends on {_when(grant.expires_at)}. "
        "If you still need it, ask to extend it from My access."
    )
    return Wording(one_line(f"Your access to {entitlement.name} ends {when}"), body)


def approvals_waiting(stages: list, now) -> Wording:
    """`stages`: the steps waiting for one person, oldest first."""
    count = len(stages)
    lines = [
        f"- {_what_for(stage.request)}, waiting {timesince(stage.activated_at, now, depth=1)}"
        for stage in stages[:REMINDER_ITEMS]
    ]
    if count > REMINDER_ITEMS:
        lines.append(f"- and {count - REMINDER_ITEMS} more")
    steps = "1 approval step is" if count == 1 else f"{count} approval steps are"
    body = f"{steps} waiting for your decision, oldest first:\n" + "\n".join(lines)
    noun = "approval" if count == 1 else "approvals"
    return Wording(f"Reminder: {count} {noun} waiting for you", body)


def sod_exception_expired(exception) -> Wording:
    body = (
        f"The exception to '{exception.rule.name}' for {exception.user} ended on {_when(exception.ends_at)}. "
        f"The mitigating control was: {exception.mitigating_control}. If {exception.user} still holds the "
        "conflicting access, the violation is open again: remove the access, or approve a new exception."
    )
    return Wording(one_line(f"Exception ended: {exception.rule.name} for {exception.user}"), body)


# What happens at sign-off to the lines nobody decided, by the campaign's rule.
UNDECIDED_FATE = {"keep": "kept", "revoke": "revoked", "escalate": "handed to the campaign owner"}


def _lines(count: int) -> str:
    return "1 line" if count == 1 else f"{count} lines"


def _due(campaign, now) -> str:
    """When: "due on 29 November 2026, 09:00 UTC, in 20 hours", or "..., 2 days ago" once it has passed."""
    if campaign.due_at > now:
        left = f"in {timesince(now, campaign.due_at, depth=1)}"
    else:
        left = f"{timesince(campaign.due_at, now, depth=1)} ago"
    return f"due on {_when(campaign.due_at)}, {left}"


def _fate(campaign) -> str:
    return f"Undecided lines are {UNDECIDED_FATE.get(campaign.undecided, 'decided by its rule')} at sign-off."


def review_due(campaign, count: int, now) -> Wording:
    waits = "waits" if count == 1 else "wait"
    body = f"{_lines(count)} of '{campaign.name}' {waits} for your decision; the campaign is {_due(campaign, now)}. "
    return Wording(one_line(f"Review due {campaign.due_at:%d %b}: {campaign.name}"), body + _fate(campaign))


def review_escalation(campaign, lagging: list[tuple], now) -> Wording:
    """To whoever a reviewer is escalated to. `lagging`: (reviewer, undecided, total, why you), one per reviewer."""
    undecided = sum(row[1] for row in lagging)
    if len(lagging) == 1:
        title = f"Escalation: {lagging[0][0]} has {_lines(undecided)} undecided in '{campaign.name}'"
    else:
        title = f"Escalation: {len(lagging)} reviewers have {_lines(undecided)} undecided in '{campaign.name}'"
    rows = [
        f"- {reviewer} ({reviewer.email}): {count} of {total} undecided; you are told as {why}"
        for reviewer, count, total, why in lagging
    ]
    body = (
        f"'{campaign.name}' is {_due(campaign, now)}, and its review is not finished:\n"
        + "\n".join(rows)
        + f"\n{_fate(campaign)} Ask them to decide before then; the campaign owner can reassign lines."
    )
    return Wording(one_line(title), body)


def review_escalated(campaign, undecided: int, total: int, told: str, now) -> Wording:
    """To the reviewer; `told` says who was told about their undecided lines ("your manager Bob was told")."""
    body = (
        f"'{campaign.name}' is {_due(campaign, now)}, and {undecided} of your {total} lines still wait for your "
        f"decision, so {told}. {_fate(campaign)}"
    )
    return Wording(one_line(f"Escalated: {_lines(undecided)} of yours undecided in '{campaign.name}'"), body)


def review_started(campaign, count: int, now) -> Wording:
    """To each reviewer when a campaign starts: one notice with their count, however many lines."""
    stages = " Lines you keep go on to the entitlement's owner for a second look." if campaign.second_stage else ""
    body = (
        f"'{campaign.name}' has started: {_lines(count)} of access {'waits' if count == 1 else 'wait'} for you to "
        f"keep or revoke; the campaign is {_due(campaign, now)}.{stages} {_fate(campaign)}"
    )
    return Wording(one_line(f"Access review started: {_lines(count)} for you in '{campaign.name}'"), body)


def review_revoked(campaign, entitlements: list[str]) -> Wording:
    """To a holder whose access a signed-off review revoked (`entitlements`: their names)."""
    names = ", ".join(entitlements[:REMINDER_ITEMS])
    more = f" and {len(entitlements) - REMINDER_ITEMS} more" if len(entitlements) > REMINDER_ITEMS else ""
    body = (
        f"The access review '{campaign.name}' revoked your access to {names}{more}; it is being removed from AWS. "
        "If you still need it, request it again from the catalog with a reason."
    )
    return Wording(one_line(f"Access removed by the review '{campaign.name}': {names}{more}"), body)


def campaign_ready(campaign, count: int) -> Wording:
    """To the owner once every line has a final decision."""
    body = (
        f"Every one of the {_lines(count)} in '{campaign.name}' is decided. Sign it off to remove the revoked "
        "access from AWS and close the evidence."
    )
    return Wording(one_line(f"Ready to sign off: '{campaign.name}'"), body)


def campaign_launch_failed(campaign, reason: str) -> Wording:
    """To the owner when a launch failed in the worker; the campaign stays a draft."""
    body = f"'{campaign.name}' could not start and is still a draft: {Truncator(reason).chars(ERROR_CHARS)}"
    return Wording(one_line(f"Access review could not start: '{campaign.name}'"), body)


def break_glass_review(stage, reason: str) -> Wording:
    """To each person asked to review a break glass after the fact (and to those it escalates to)."""
    access_request = stage.request
    entitlement = access_request.entitlement
    body = (
        f"{access_request.requester} broke glass for {entitlement.name} in {entitlement.account.name} "
        f"({access_request.duration_words}), ticket {access_request.ticket}: {_quote(access_request.justification)}\n"
        f"The access was granted at once, without approval. Confirm it or revoke it by {_when(stage.due_at)}; "
        f"undecided, it is escalated. Why you: {reason}."
    )
    title = f"Break glass to review: {entitlement.name} taken by {access_request.requester} ({access_request.ticket})"
    return Wording(one_line(title), body)
