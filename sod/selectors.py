"""Reads for the violations report, the exceptions list and the list of rules."""

from django.db.models import Count, Q, QuerySet, Subquery

from accounts import roles
from accounts.models import User
from inputs.rules import id_or_none
from sod.models import EntitlementPermissions, SodActivityFinding, SodException, SodRule, SodViolation


def visible_rules_filter(user: User) -> Q:
    """Governance admins and auditors see every rule's records; a rule owner sees their own rules'."""
    return Q() if roles.reads_everything(user) else Q(rule__owner=user)


def violations_for(user: User, *, state: str = "open", rule: str = "", person: str = "") -> QuerySet[SodViolation]:
    rows = SodViolation.objects.filter(visible_rules_filter(user)).select_related("rule", "user", "exception")
    if state == "open":
        rows = rows.filter(resolved_at__isnull=True, exception__isnull=True)
    elif state == "covered":
        rows = rows.filter(resolved_at__isnull=True, exception__isnull=False)
    elif state == "resolved":
        rows = rows.filter(resolved_at__isnull=False)
    if (rule_id := id_or_none(rule)) is not None:
        rows = rows.filter(rule_id=rule_id)
    if person:
        rows = rows.filter(Q(user__full_name__icontains=person) | Q(user__email__icontains=person))
    return rows.order_by("-first_seen", "pk")


def exceptions_for(user: User) -> QuerySet[SodException]:
    return (
        SodException.objects.filter(visible_rules_filter(user))
        .select_related("rule", "user", "approved_by")
        .order_by("expired_at", "ends_at")
    )


def rules_listed(search: str = "") -> QuerySet[SodRule]:
    """Governance → SoD rules: every rule by name (its unique index), with its open violations counted in
    the same query and its owner joined, searched in its name and description."""
    rows = SodRule.objects.select_related("owner").annotate(
        open_violations=Count("violations", filter=Q(violations__resolved_at__isnull=True))
    )
    if search:
        rows = rows.filter(Q(name__icontains=search) | Q(why__icontains=search))
    return rows.order_by("name", "pk")


def activity_findings_for(user: User, *, rule: str = "", person: str = "") -> QuerySet[SodActivityFinding]:
    """Detective findings (sod.activity), newest first, on the same terms as violations: governance admins and
    auditors see all, a rule owner their own rules'."""
    rows = SodActivityFinding.objects.filter(visible_rules_filter(user)).select_related("rule", "user", "account")
    if (rule_id := id_or_none(rule)) is not None:
        rows = rows.filter(rule_id=rule_id)
    if person:
        rows = rows.filter(Q(user__full_name__icontains=person) | Q(user__email__icontains=person))
    return rows.order_by("-found_at", "-pk")


def unreadable_of(entitlement) -> Subquery:
    """What could not be read of an entitlement's policies ('' or NULL: all were read), as a subquery of a
    list of entitlements (`entitlement`: an OuterRef), for the console list's marker."""
    return Subquery(EntitlementPermissions.objects.filter(entitlement=entitlement).values("unreadable")[:1])


def permissions_of(entitlement_id: int) -> EntitlementPermissions | None:
    """What was last read of an entitlement's policies (its page), or None if they were never read."""
    return EntitlementPermissions.objects.filter(entitlement_id=entitlement_id).first()
