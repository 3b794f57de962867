"""Creating, changing and switching separation-of-duties rules: governance admins only, audited, all or nothing.

Pages, the API and the dry run of an unsaved rule all go through here, so a rule is judged the same way
whichever door it comes in by. The evaluation of a rule stays in evaluation.py and scan.py.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts import roles
from audit.services import record
from sod.evaluation import RuleView
from sod.models import SodRule


def rule_state(rule: SodRule) -> dict:
    return {
        "name": rule.name,
        "why": rule.why,
        "kind": rule.kind,
        "severity": rule.severity,
        "enforcement": rule.enforcement,
        "owner": rule.owner_id,
        "enabled": rule.enabled,
        "actions": list(rule.actions or []),
        "detect_in_activity": rule.detect_in_activity,
        "set_a": sorted(e.pk for e in rule.set_a.all()),
        "set_b": sorted(e.pk for e in rule.set_b.all()),
    }


def _governance_admins_only(actor) -> None:
    if not roles.is_governance_admin(actor):
        raise PermissionDenied("Only governance admins change separation-of-duties rules.")


def sets_problem(kind: str, set_a, set_b) -> str | None:
    """An entitlement rule needs something on both sides, or it could never match anyone."""
    if kind == SodRule.Kind.ENTITLEMENTS and not (set_a and set_b):
        return "An entitlement rule needs entitlements in both sets."
    return None


def rule_view_of(fields: dict, set_a, set_b) -> RuleView:
    """An unsaved rule as evaluation sees it, after the checks saving would make (ValidationError if it
    fails them): the dry run judges exactly what would be saved."""
    probe = SodRule(**{name: value for name, value in fields.items() if name not in ("set_a", "set_b")})
    probe.clean()
    if problem := sets_problem(probe.kind, set_a, set_b):
        raise ValidationError({"set_a": problem})
    return RuleView(
        probe.pk or 0,
        probe.name,
        probe.why,
        probe.kind,
        probe.enforcement,
        frozenset(getattr(e, "pk", e) for e in set_a or ()),
        frozenset(getattr(e, "pk", e) for e in set_b or ()),
        tuple(probe.actions or ()) if probe.kind == SodRule.Kind.PERMISSIONS else (),
        probe.owner_id,
    )


def save_rule(*, actor, rule: SodRule | None, fields: dict, set_a=None, set_b=None) -> SodRule:
    """Create or change a rule (governance admins), validated by the model, audited with its before and
    after; all or nothing (a rule whose name another took meanwhile is refused, not half-saved)."""
    _governance_admins_only(actor)
    try:
        with transaction.atomic():
            if rule is not None:
                rule = SodRule.objects.select_for_update().get(pk=rule.pk)
            before = rule_state(rule) if rule is not None else None
            rule = rule or SodRule()
            for name, value in fields.items():
                setattr(rule, name, value)
            rule.full_clean()
            rule.save()
            if set_a is not None:
                rule.set_a.set(set_a)
            if set_b is not None:
                rule.set_b.set(set_b)
            if problem := sets_problem(rule.kind, rule.set_a.exists(), rule.set_b.exists()):
                raise ValidationError({"set_a": problem})
            action = "sod.sodrule_changed" if before else "sod.sodrule_created"
            record(actor=actor, action=action, obj=rule, before=before, after=rule_state(rule))
    except IntegrityError:
        raise ValidationError({"name": "Another rule has this name."}) from None
    return rule


def set_rule_enabled(*, actor, rule_id: int, enabled: bool) -> SodRule:
    """Switch a rule on or off (governance admins), audited. Asking for the state it is already in (someone
    else got there first) is refused with the state it is in, and changes nothing."""
    _governance_admins_only(actor)
    with transaction.atomic():
        rule = SodRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise SodRule.DoesNotExist
        if rule.enabled == enabled:
            state = "enabled" if enabled else "disabled"
            raise ValidationError(f"{rule.name} is already {state}.", code="stale")
        before = rule_state(rule)
        rule.enabled = enabled
        rule.save(update_fields=["enabled", "updated_at"])
        action = "sod.sodrule_enabled" if enabled else "sod.sodrule_disabled"
        record(actor=actor, action=action, obj=rule, before=before, after=rule_state(rule))
    return rule
