"""Reads for the violations report and the exceptions list."""

from django.db.models import Q, QuerySet

from accounts import roles
from inputs.rules import id_or_none
from sod.models import SodException, SodViolation


def visible_rules_filter(user) -> Q:
    """Governance admins and auditors see every rule's records; a rule owner sees their own rules'."""
    return Q() if roles.reads_everything(user) else Q(rule__owner=user)


def violations_for(user, *, state: str = "open", rule: str = "", person: str = "") -> QuerySet[SodViolation]:
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


def exceptions_for(user) -> QuerySet[SodException]:
    return (
        SodException.objects.filter(visible_rules_filter(user))
        .select_related("rule", "user", "approved_by")
        .order_by("expired_at", "ends_at")
    )
