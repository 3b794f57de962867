"""Creating, changing and switching separation-of-duties rules: governance admins only, audited, all or nothing.

Pages, the API and the dry run of an unsaved rule all go through here, so a rule is judged the same way
whichever door it comes in by. The evaluation of a rule stays in evaluation.py and scan.py. What is refused
is refused in the portal's vocabulary (`inputs.refusals`), which each edge shows in its one way.
"""

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from accounts import roles
from accounts.models import User
from audit.services import record
from catalog.models import Entitlement
from inputs.refusals import InvalidInput, NotAllowed, NotFound, StaleState
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


def _governance_admins_only(actor: User) -> None:
    if not roles.is_governance_admin(actor):
        raise NotAllowed("Only governance admins change separation-of-duties rules.")


def _refused(error: ValidationError) -> InvalidInput:
    """The model's own check (`SodRule.clean`, the fields' limits, a name taken) as a refusal: every problem
    in words, on the first field it names (a refusal names one; the forms check each field's shape first, so
    more than one is rare and none is hidden)."""
    if not hasattr(error, "error_dict"):
        return InvalidInput(" ".join(error.messages))
    problems = error.message_dict
    field = next(iter(problems))
    words = " ".join(message for messages in problems.values() for message in messages)
    return InvalidInput(words, field=None if field == NON_FIELD_ERRORS else field)


def sets_problem(kind: str | None, set_a: object, set_b: object) -> str | None:
    """An entitlement rule needs something on both sides, or it could never match anyone."""
    if kind == SodRule.Kind.ENTITLEMENTS and not (set_a and set_b):
        return "An entitlement rule needs entitlements in both sets."
    return None


def rule_view_of(
    fields: dict, set_a: Iterable[Entitlement | int] | None, set_b: Iterable[Entitlement | int] | None
) -> RuleView:
    """An unsaved rule as evaluation sees it, after the checks saving would make (InvalidInput if it
    fails them): the dry run judges exactly what would be saved."""
    probe = SodRule(**{name: value for name, value in fields.items() if name not in ("set_a", "set_b")})
    try:
        probe.clean()
    except ValidationError as exc:
        raise _refused(exc) from None
    if problem := sets_problem(probe.kind, set_a, set_b):
        raise InvalidInput(problem, field="set_a")
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


def save_rule(
    *,
    actor: User,
    rule: SodRule | None,
    fields: dict,
    set_a: Iterable[Entitlement | int] | None = None,
    set_b: Iterable[Entitlement | int] | None = None,
) -> SodRule:
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
            try:
                rule.full_clean()
            except ValidationError as exc:
                raise _refused(exc) from None
            rule.save()
            if set_a is not None:
                rule.set_a.set(set_a)
            if set_b is not None:
                rule.set_b.set(set_b)
            if problem := sets_problem(rule.kind, rule.set_a.exists(), rule.set_b.exists()):
                raise InvalidInput(problem, field="set_a")
            action = "sod.sodrule_changed" if before else "sod.sodrule_created"
            record(actor=actor, action=action, obj=rule, before=before, after=rule_state(rule))
    except IntegrityError:
        raise InvalidInput("Another rule has this name.", field="name") from None
    return rule


def set_rule_enabled(*, actor: User, rule_id: int, enabled: bool) -> SodRule:
    """Switch a rule on or off (governance admins), audited. Asking for the state it is already in (someone
    else got there first) is refused (StaleState) with the state it is in, and changes nothing; an unknown
    rule is NotFound."""
    _governance_admins_only(actor)
    with transaction.atomic():
        rule = SodRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound("No such rule.")
        if rule.enabled == enabled:
            state = "enabled" if enabled else "disabled"
            raise StaleState(f"{rule.name} is already {state}.")
        before = rule_state(rule)
        rule.enabled = enabled
        rule.save(update_fields=["enabled", "updated_at"])
        action = "sod.sodrule_enabled" if enabled else "sod.sodrule_disabled"
        record(actor=actor, action=action, obj=rule, before=before, after=rule_state(rule))
    return rule
