"""The full scan: every person's holdings against every rule, in memory, then violations brought up to date.

Each entitlement's documents are evaluated once per permission rule, not once per holder, so the
cost grows with holdings, not with holdings times policy statements.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog.models import Entitlement
from sod.evaluation import Conflict, Effects, RuleView, action_effects
from sod.holdings import current_holdings
from sod.models import EntitlementPermissions, SodRule, SodViolation
from sod.services import documents_for, reconcile_violations, rule_views


def effects_table(
    rules: list[RuleView], entitlement_ids: set[int], documents: dict | None = None
) -> dict[tuple[int, int], Effects]:
    documents = documents_for(entitlement_ids) if documents is None else documents
    return {
        (rule.id, entitlement): action_effects(documents.get(entitlement, []), rule.actions)
        for rule in rules
        if rule.kind == SodRule.Kind.PERMISSIONS
        for entitlement in entitlement_ids
    }


class CompiledRules:
    """Rules turned into lookups, so each person costs a few dictionary reads per grant.

    Entitlement rules: entitlement → the rules and sides it sits on. Permission rules: per
    entitlement, bit masks of the rule's actions it allows, denies, or allows under a condition;
    a person's masks are OR-ed together and Deny wins, as IAM pools a user's policies.
    """

    def __init__(self, rules: list[RuleView], table: dict[tuple[int, int], Effects]) -> None:
        self.rules = rules
        self.sides: dict[int, list[tuple[int, str]]] = {}
        self.masks: list[tuple[int, dict[int, tuple[int, int, int]]]] = []
        effects_by_rule: dict[int, list[tuple[int, Effects]]] = {}
        for (rule_id, entitlement), effects in table.items():
            effects_by_rule.setdefault(rule_id, []).append((entitlement, effects))
        for index, rule in enumerate(rules):
            if rule.kind != SodRule.Kind.PERMISSIONS:
                for entitlement in rule.set_a:
                    self.sides.setdefault(entitlement, []).append((index, "a"))
                for entitlement in rule.set_b:
                    self.sides.setdefault(entitlement, []).append((index, "b"))
                continue
            bit = {action: 1 << n for n, action in enumerate(rule.actions)}
            per_entitlement = {}
            for entitlement, effects in effects_by_rule.get(rule.id, ()):
                masks = (
                    sum(bit[a] for a in effects.allows),
                    sum(bit[a] for a in effects.denies),
                    sum(bit[a] for a in effects.conditional_allows),
                )
                if any(masks):
                    per_entitlement[entitlement] = masks
            self.masks.append((index, per_entitlement))

    def conflicts(self, held: set[int]) -> list[Conflict]:
        found = []
        sides: dict[int, tuple[set, set]] = {}
        for entitlement in held:
            for index, side in self.sides.get(entitlement, ()):
                pair = sides.setdefault(index, (set(), set()))
                pair[0 if side == "a" else 1].add(entitlement)
        for index, (side_a, side_b) in sides.items():
            if side_a and side_b:
                found.append(Conflict(self.rules[index], tuple(sorted(side_a | side_b))))
        for index, per_entitlement in self.masks:
            rule = self.rules[index]
            full = (1 << len(rule.actions)) - 1
            allow = deny = conditional = 0
            contributors = []
            for entitlement in held:
                masks = per_entitlement.get(entitlement)
                if masks:
                    allow, deny, conditional = allow | masks[0], deny | masks[1], conditional | masks[2]
                    if masks[0]:
                        contributors.append(entitlement)
            if rule.actions and (allow & ~deny) == full:
                loose = tuple(a for n, a in enumerate(rule.actions) if conditional & ~allow & (1 << n))
                found.append(Conflict(rule, tuple(sorted(contributors)), tuple(sorted(rule.actions)), loose))
        return found


def scan_holdings(
    holdings: dict[int, set[int]], rules: list[RuleView] | None = None, documents: dict | None = None
) -> dict[int, list[Conflict]]:
    """Pure part of the scan: person id → conflicts, for people with any. `documents` (entitlement id →
    policy documents) is read from the database when not given."""
    rules = rule_views() if rules is None else rules
    if not rules:
        return {}
    table = effects_table(rules, set().union(*holdings.values()) if holdings else set(), documents)
    compiled = CompiledRules(rules, table)
    result = {}
    for user_id, held in holdings.items():
        conflicts = compiled.conflicts(held)
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


@dataclass(frozen=True)
class Flagged:
    """One person a rule would flag, with what of theirs conflicts."""

    person: User
    entitlements: list[str]
    actions: tuple


@dataclass(frozen=True)
class DryRun:
    total: int
    shown: list[Flagged]
    # For a permission rule: held entitlements with a policy document that could not be read, by name.
    unreadable: tuple[str, ...] = ()

    @property
    def more(self) -> int:
        return self.total - len(self.shown)


def who_would_violate(rule: RuleView, limit: int = 50) -> DryRun:
    """The dry run in words for a page: how many people `rule` would flag now and, for the first `limit`
    by name, which of their entitlements conflict. Four queries, whatever the number of people."""
    pairs = list(current_holdings())
    flagged = dry_run(rule, pairs)
    people = list(User.objects.filter(pk__in=sorted(flagged)[:limit]).order_by("full_name", "email"))
    ids = {pk for person in people for pk in flagged[person.pk].entitlements}
    names = dict(Entitlement.objects.filter(pk__in=ids).values_list("pk", "name"))
    shown = [
        Flagged(
            person,
            sorted(names[pk] for pk in flagged[person.pk].entitlements if pk in names),
            flagged[person.pk].actions,
        )
        for person in people
    ]
    return DryRun(len(flagged), shown, _unreadable_held(rule, {entitlement for _, entitlement in pairs}))


def _unreadable_held(rule: RuleView, held: set[int]) -> tuple[str, ...]:
    """A permission rule judges an entitlement on its policies last read whole: the dry run names those held
    whose current documents could not be read, so nobody takes "nobody" for the whole truth."""
    if rule.kind != SodRule.Kind.PERMISSIONS or not held:
        return ()
    unreadable = EntitlementPermissions.objects.exclude(unreadable="").values_list("entitlement_id", flat=True)
    names = Entitlement.objects.filter(pk__in=set(unreadable) & held).order_by("name").values_list("name", flat=True)
    return tuple(names)
