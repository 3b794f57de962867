"""Separation of duties after the fact: a person who did every action of a permission rule inside one window.

The preventive checks (sod.services, sod.scan) judge what people's policies allow. A rule may also ask to
be judged on what was done (`SodRule.detect_in_activity`, off by default): when a grant's activity is read
from CloudTrail (iam.facts.cloudtrail), the holder's calls in the grant's window, with whatever access they had,
are handed here, and a person who called every action the rule names (iam:PassRole and
lambda:CreateFunction) gets a finding with the CloudTrail event ids of those calls. Calls in two different
windows, or by two different people, are never put together. `sod` sits below `iam` and `access`: callers
pass the calls, read from the log files, and the grant's id.
"""

from dataclasses import dataclass
from datetime import datetime

from accounts.models import User
from audit.services import record
from catalog.models import AwsAccount
from sod.evaluation import RuleView
from sod.models import SodActivityFinding, SodRule
from sod.services import rule_views

SYSTEM_ACTOR = "system:sod"


def activity_rules() -> list[RuleView]:
    """The enabled permission rules that ask to be judged on what was done."""
    rules = SodRule.objects.filter(enabled=True, kind=SodRule.Kind.PERMISSIONS, detect_in_activity=True)
    return [rule for rule in rule_views(rules) if rule.actions]


@dataclass(frozen=True)
class DoneTogether:
    rule: RuleView
    # Action as the rule names it → [(time, CloudTrail eventID)], oldest first.
    calls: dict[str, list[tuple[datetime, str]]]

    @property
    def first(self) -> datetime:
        return min(when for calls in self.calls.values() for when, _ in calls)

    @property
    def last(self) -> datetime:
        return max(when for calls in self.calls.values() for when, _ in calls)


def done_together(rules: list[RuleView], calls: dict[str, list[tuple[datetime, str]]]) -> list[DoneTogether]:
    """The rules every action of which was called. `calls`: lower-cased action ("iam:passrole") → the
    calls of one person inside one window, as (time, eventID). Pure."""
    found = []
    for rule in rules:
        wanted = {action: action.lower() for action in rule.actions}
        if all(calls.get(lowered) for lowered in wanted.values()):
            found.append(DoneTogether(rule, {action: sorted(calls[lowered]) for action, lowered in wanted.items()}))
    return found


def record_activity_findings(
    rules: list[RuleView],
    *,
    user: User,
    grant_id: int,
    account: AwsAccount,
    window: tuple[datetime, datetime],
    calls: dict[str, list[tuple[datetime, str]]],
    now: datetime,
) -> list[SodActivityFinding]:
    """Open or bring up to date the findings of one grant's window (inside the caller's transaction, after it
    locked the grant). A finding stays once made, as evidence: a later read of the same window only adds the
    calls made since. Audited `sod.activity_finding` when first found."""
    findings = []
    for done in done_together(rules, calls):
        event_ids = {action: [event_id for _, event_id in pairs] for action, pairs in done.calls.items()}
        row = SodActivityFinding.objects.select_for_update().filter(rule_id=done.rule.id, grant_id=grant_id).first()
        if row is None:
            row = SodActivityFinding.objects.create(
                rule_id=done.rule.id,
                user=user,
                grant_id=grant_id,
                account=account,
                window_start=window[0],
                window_end=window[1],
                event_ids=event_ids,
                first_call_at=done.first,
                last_call_at=done.last,
                found_at=now,
                updated_at=now,
            )
            record(
                actor=None,
                actor_label=SYSTEM_ACTOR,
                action="sod.activity_finding",
                obj=row,
                after={
                    "rule": done.rule.id,
                    "user": user.pk,
                    "grant": grant_id,
                    "window": [window[0].isoformat(), window[1].isoformat()],
                    "event_ids": event_ids,
                },
            )
        else:
            row.window_start, row.window_end, row.event_ids = window[0], window[1], event_ids
            row.first_call_at, row.last_call_at, row.updated_at = done.first, done.last, now
            row.save(
                update_fields=["window_start", "window_end", "event_ids", "first_call_at", "last_call_at", "updated_at"]
            )
        findings.append(row)
    return findings
