"""Checking combinations against the rules, keeping violations and exceptions current.

Called by access (at submission and at every approval step, and through its tasks for the nightly
scan and the re-check on every grant change). `sod` sits below `access`: callers pass what a person
holds, read from the grant ledger. Rule texts and entitlement names come from the database here;
the judgement itself is sod.evaluation's.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from audit.services import record
from catalog.models import Entitlement
from outbox.services import enqueue
from sod.evaluation import Conflict, RuleView, entitlement_conflict, permission_conflict
from sod.models import EntitlementPermissions, SodException, SodRule, SodViolation

# Named, not imported: notifications sits above sod.
EXCEPTION_EXPIRED_TASK = "notifications.sod_exception_expired"


@dataclass(frozen=True)
class Finding:
    """A conflict in words, and whether an exception covers it for this person."""

    conflict: Conflict
    message: str
    exception: SodException | None

    @property
    def rule(self) -> RuleView:
        return self.conflict.rule

    @property
    def blocks(self) -> bool:
        return self.exception is None and self.rule.enforcement == SodRule.Enforcement.BLOCK

    @property
    def needs_exception(self) -> bool:
        return self.exception is None and self.rule.enforcement == SodRule.Enforcement.EXCEPTION


def rule_views(rules: QuerySet[SodRule] | None = None) -> list[RuleView]:
    rules = rules if rules is not None else SodRule.objects.filter(enabled=True)
    rules = rules.prefetch_related(
        Prefetch("set_a", Entitlement.objects.only("pk")), Prefetch("set_b", Entitlement.objects.only("pk"))
    )
    return [
        RuleView(
            rule.pk,
            rule.name,
            rule.why,
            rule.kind,
            rule.enforcement,
            frozenset(e.pk for e in rule.set_a.all()),
            frozenset(e.pk for e in rule.set_b.all()),
            tuple(rule.actions or ()),
            rule.owner_id,
        )
        for rule in rules
    ]


def documents_for(entitlement_ids: Iterable[int]) -> dict[int, list[dict]]:
    rows = EntitlementPermissions.objects.filter(entitlement_id__in=list(entitlement_ids))
    return {row.entitlement_id: [item["document"] for item in row.documents] for row in rows}


def conflicts_of(
    rules: list[RuleView], held: set[int], candidate: int | None, documents: dict | None = None
) -> list[Conflict]:
    wanted = held | ({candidate} if candidate else set())
    if documents is None:
        documents = documents_for(wanted) if any(rule.kind == SodRule.Kind.PERMISSIONS for rule in rules) else {}
    found = []
    for rule in rules:
        if rule.kind == SodRule.Kind.PERMISSIONS:
            conflict = permission_conflict(rule, documents, held, candidate)
        else:
            conflict = entitlement_conflict(rule, held, candidate)
        if conflict is not None:
            found.append(conflict)
    return found


def _words(conflict: Conflict, candidate: Entitlement | None, names: dict[int, str]) -> str:
    rule = conflict.rule
    others = ", ".join(names[pk] for pk in conflict.entitlements if not candidate or pk != candidate.pk) or "itself"
    if rule.kind == SodRule.Kind.PERMISSIONS:
        subject = f"{candidate.name} together with {others}" if candidate else others
        text = f"{subject} allows {', '.join(conflict.actions)}, which rule '{rule.name}' forbids: {rule.why}"
        if conflict.conditional:
            text += f" (also allowed under conditions, not evaluated: {', '.join(conflict.conditional)})"
        return text
    subject = f"Holding {candidate.name} with {others}" if candidate else f"Holding {others}"
    return f"{subject} breaks rule '{rule.name}': {rule.why}"


def active_exceptions(user: User, now: datetime | None = None) -> dict[int, SodException]:
    now = now or timezone.now()
    rows = SodException.objects.filter(user=user, ends_at__gt=now, expired_at__isnull=True)
    return {row.rule_id: row for row in rows}


def check(user: User, candidate: Entitlement, held: set[int]) -> list[Finding]:
    """The conflicts `user` would be in by also holding `candidate` beside `held` (entitlement ids, from the
    grant ledger, which the caller reads: sod sits below access), in words, with covering exceptions."""
    return check_many(user, [candidate], held)[candidate.pk]


def check_many(user: User, candidates: list[Entitlement], held: set[int]) -> dict[int, list[Finding]]:
    """`check` for several candidates asked for together (a cart): each is judged beside `held` and the
    other candidates, as submission judges them. A few queries, whatever the number of candidates."""
    asked = {candidate.pk for candidate in candidates}
    rules = rule_views()
    documents = None
    if any(rule.kind == SodRule.Kind.PERMISSIONS for rule in rules):
        documents = documents_for(held | asked)
    conflicts = {
        candidate.pk: conflicts_of(rules, (held | asked) - {candidate.pk}, candidate.pk, documents or {})
        for candidate in candidates
    }
    if not any(conflicts.values()):
        return {pk: [] for pk in asked}
    ids = {pk for found in conflicts.values() for conflict in found for pk in conflict.entitlements} | asked
    names = dict(Entitlement.objects.filter(pk__in=ids).values_list("pk", "name"))
    exceptions = active_exceptions(user)
    return {
        candidate.pk: [
            Finding(c, _words(c, candidate, names), exceptions.get(c.rule.id)) for c in conflicts[candidate.pk]
        ]
        for candidate in candidates
    }


def grant_exception(
    *, rule_id: int, user: User, mitigating_control: str, ends_at: datetime, approved_by: User, request_id: int | None
) -> SodException:
    """Record an approved exception (inside the approval's transaction) and cover any open violation."""
    exception = SodException.objects.create(
        rule_id=rule_id,
        user=user,
        mitigating_control=mitigating_control,
        ends_at=ends_at,
        approved_by=approved_by,
        request_id=request_id,
    )
    SodViolation.objects.filter(rule_id=rule_id, user=user, resolved_at__isnull=True).update(exception=exception)
    record(
        actor=approved_by,
        action="sod.exception_granted",
        obj=exception,
        after={
            "rule": rule_id,
            "user": user.pk,
            "control": mitigating_control,
            "ends_at": ends_at.isoformat(),
            "request": request_id,
        },
    )
    return exception


def reconcile_violations(user: User, conflicts: list[Conflict], now: datetime) -> None:
    """Open, refresh and resolve `user`'s violation records to match `conflicts`."""
    exceptions = active_exceptions(user, now)
    current = {conflict.rule.id: conflict for conflict in conflicts}
    open_rows = {
        row.rule_id: row for row in SodViolation.objects.select_for_update().filter(user=user, resolved_at__isnull=True)
    }
    for rule_id, conflict in current.items():
        details = {
            "entitlements": list(conflict.entitlements),
            "actions": list(conflict.actions),
            "conditional": list(conflict.conditional),
        }
        row = open_rows.get(rule_id)
        exception = exceptions.get(rule_id)
        if row is None:
            row = SodViolation.objects.create(
                rule_id=rule_id, user=user, details=details, first_seen=now, last_seen=now, exception=exception
            )
            record(actor=None, actor_label="system:sod", action="sod.violation_found", obj=row, after=details)
        else:
            row.details, row.last_seen, row.exception = details, now, exception
            row.save(update_fields=["details", "last_seen", "exception"])
    for rule_id, row in open_rows.items():
        if rule_id not in current:
            row.resolved_at = now
            row.save(update_fields=["resolved_at"])
            record(actor=None, actor_label="system:sod", action="sod.violation_resolved", obj=row)


def recheck_user(user: User, held: set[int]) -> int:
    """Re-evaluate everything `user` holds (`held`: entitlement ids); returns how many violations are open."""
    now = timezone.now()
    with transaction.atomic():
        conflicts = conflicts_of(rule_views(), held, None)
        reconcile_violations(user, conflicts, now)
    return len(conflicts)


def expire_exceptions(now: datetime | None = None) -> list[SodException]:
    """Mark exceptions past their end as expired (audited); the caller re-checks their people."""
    now = now or timezone.now()
    expired = []
    with transaction.atomic():
        for exception in (
            SodException.objects.select_for_update()
            .select_related("user", "rule")
            .filter(ends_at__lte=now, expired_at__isnull=True)
        ):
            exception.expired_at = now
            exception.save(update_fields=["expired_at"])
            SodViolation.objects.filter(exception=exception, resolved_at__isnull=True).update(exception=None)
            record(
                actor=None,
                actor_label="system:sod",
                action="sod.exception_expired",
                obj=exception,
                after={"rule": exception.rule_id, "user": exception.user_id},
            )
            enqueue(EXCEPTION_EXPIRED_TASK, exception.pk)
            expired.append(exception)
    return expired


def record_permissions(
    entitlement: Entitlement, documents: list[dict], error: str = "", *, unreadable: str = ""
) -> EntitlementPermissions:
    """Store what AWS answered for an entitlement's policies. A failed read (`error`), or one with a document
    that could not be read (`unreadable`), keeps the last documents read whole: never some of the new ones."""
    return record_many_permissions({entitlement.pk: (documents, error, unreadable)})[entitlement.pk]


def record_many_permissions(readings: dict[int, tuple[list[dict], str, str]]) -> dict[int, EntitlementPermissions]:
    """`record_permissions` for several entitlements (id → documents, error, unreadable) in three queries."""
    now = timezone.now()
    rows = EntitlementPermissions.objects.in_bulk(list(readings), field_name="entitlement_id")
    new, changed = [], []
    for entitlement_id, (documents, error, unreadable) in readings.items():
        whole = not error and not unreadable
        row = rows.get(entitlement_id)
        if row is None:
            row = EntitlementPermissions(
                entitlement_id=entitlement_id, documents=documents if whole else [], fetched_at=now
            )
            new.append(row)
        else:
            changed.append(row)
        row.error, row.unreadable, row.fetched_at = error, unreadable if not error else row.unreadable, now
        if whole:
            row.documents = documents
        rows[entitlement_id] = row
    EntitlementPermissions.objects.bulk_create(new)
    EntitlementPermissions.objects.bulk_update(changed, ["documents", "error", "unreadable", "fetched_at"])
    return rows
