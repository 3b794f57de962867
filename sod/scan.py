"""The full scan: every person's holdings against every rule, in memory, then violations brought up to date.

Each entitlement's documents are evaluated once per permission rule, not once per holder, so the
cost grows with holdings, not with holdings times policy statements.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from sod.evaluation import Conflict, Effects, RuleView, action_effects, combine, entitlement_conflict
from sod.models import SodRule, SodViolation
from sod.services import documents_for, reconcile_violations, rule_views


def effects_table(rules: list[RuleView], entitlement_ids: set[int]) -> dict[tuple[int, int], Effects]:
    documents = documents_for(entitlement_ids)
    return {
        (rule.id, entitlement): action_effects(documents.get(entitlement, []), rule.actions)
        for rule in rules
        if rule.kind == SodRule.Kind.PERMISSIONS
        for entitlement in entitlement_ids
    }


def conflicts_in(rules: list[RuleView], held: set[int], table: dict) -> list[Conflict]:
    found = []
    for rule in rules:
        if rule.kind != SodRule.Kind.PERMISSIONS:
            conflict = entitlement_conflict(rule, held, None)
        else:
            verdict = combine([table[(rule.id, entitlement)] for entitlement in held])
            conflict = None
            if rule.actions and set(rule.actions) <= verdict.allowed:
                contributors = tuple(sorted(e for e in held if table[(rule.id, e)].allows & set(rule.actions)))
                conflict = Conflict(rule, contributors, tuple(sorted(rule.actions)), tuple(sorted(verdict.conditional)))
        if conflict is not None:
            found.append(conflict)
    return found


def scan_holdings(holdings: dict[int, set[int]], rules: list[RuleView] | None = None) -> dict[int, list[Conflict]]:
    """Pure part of the scan: person id → conflicts, for people with any."""
    rules = rule_views() if rules is None else rules
    if not rules:
        return {}
    table = effects_table(rules, set().union(*holdings.values()) if holdings else set())
    result = {}
    for user_id, held in holdings.items():
        conflicts = conflicts_in(rules, held, table)
        if conflicts:
            result[user_id] = conflicts
    return result


def group_holdings(pairs: Iterable[tuple[int, int]]) -> dict[int, set[int]]:
    holdings: dict[int, set[int]] = {}
    for user_id, entitlement_id in pairs:
        holdings.setdefault(user_id, set()).add(entitlement_id)
    return holdings


def scan_all(pairs: Iterable[tuple[int, int]]) -> dict[str, int]:
    """Bring every violation up to date from (person id, entitlement id) pairs of present grants."""
    found = scan_holdings(group_holdings(pairs))
    now = timezone.now()
    with_open = set(SodViolation.objects.filter(resolved_at__isnull=True).values_list("user_id", flat=True))
    touched = set(found) | with_open
    people = User.objects.in_bulk(touched)
    for user_id in touched:
        with transaction.atomic():
            reconcile_violations(people[user_id], found.get(user_id, []), now)
    return {"people_in_violation": len(found), "people_checked": len(touched)}


def dry_run(rule: RuleView, pairs: Iterable[tuple[int, int]]) -> dict[int, Conflict]:
    """Who `rule` would flag today, without recording anything (the rule editor shows it before saving)."""
    found = scan_holdings(group_holdings(pairs), [rule])
    return {user_id: conflicts[0] for user_id, conflicts in found.items()}


# Who holds what comes from the grant ledger, which lives in `access`, above this app. access
# registers its reader at start-up (AccessConfig.ready) so the admin's dry run can use it.
_holdings_source = None


def provide_holdings(source) -> None:
    """`source()` returns (person id, entitlement id) pairs of present grants."""
    global _holdings_source
    _holdings_source = source


def current_holdings():
    if _holdings_source is None:
        raise RuntimeError("No grant ledger is registered with sod.scan (is the access app installed?)")
    return _holdings_source()
