"""Governance admins change an entitlement's terms from the catalog console: its owners, risk, whether it
can be requested, its durations (unit, minimum, maximum) and its approval policy. One function, audited like the admin's
catalog edits (`catalog.entitlement_changed`, before and after), checked as a whole before anything is
written, so a refused change leaves the entitlement exactly as it was.

It lives in `access` rather than `catalog` because what makes a change sound is how requests will be
routed (access.routing): a policy with an owners' stage needs an owner to ask.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from access.routing import needs_owners
from access.services.locking import atomic_change
from access.services.requests import MAX_DURATION_DAYS, MAX_DURATION_HOURS
from accounts.models import User
from accounts.roles import is_auditor, is_governance_admin
from audit.services import record
from catalog.models import ApprovalPolicy, DurationUnit, Entitlement, Risk
from inputs.refusals import InvalidInput, NotAllowed, NotFound

CHANGED_ACTION = "catalog.entitlement_changed"
DURATION_FIELDS = ["max_duration_days", "duration_unit", "min_duration", "max_duration_hours"]
# Enough for a team and its deputies; a longer list is a group of people, which is not how ownership works.
MAX_OWNERS = 20


@dataclass(frozen=True)
class Terms:
    """What the console sets on an entitlement. Owners and policy by id, as the form sends them."""

    owner_ids: list[int]
    risk: str
    requestable: bool
    max_duration_days: int | None
    approval_policy_id: int | None
    # Hours for just-in-time elevation: then `max_duration_hours` is required and `max_duration_days` empty.
    duration_unit: str = DurationUnit.DAYS
    min_duration: int = 1
    max_duration_hours: int | None = None


def change_entitlement(*, entitlement_id: int, actor: User, terms: Terms) -> Entitlement:
    """Set the entitlement's terms, or refuse the whole change with the reason (nothing half-applied).

    Governance admins only, and never an auditor. Owners must be active people who have not left; an
    entitlement whose policy has an owners' stage keeps at least one; an automatic policy only approves
    low-risk entitlements, so a higher risk needs a policy with people in it.
    """
    if actor is None or not is_governance_admin(actor) or is_auditor(actor):
        raise NotAllowed("Only governance admins change the catalog.")
    _check_shape(terms)
    return _change(entitlement_id, actor, terms)


@atomic_change
def _change(entitlement_id: int, actor, terms: Terms) -> Entitlement:
    entitlement = (
        Entitlement.objects.select_for_update(no_key=True, of=("self",))
        .select_related("account")
        .filter(pk=entitlement_id)
        .first()
    )
    if entitlement is None:
        raise NotFound("That entitlement does not exist.")
    owners = _owners(terms.owner_ids)
    policy = _policy(terms.approval_policy_id)
    before = snapshot(entitlement, entitlement.owners.values_list("pk", flat=True))
    entitlement.risk = terms.risk
    entitlement.requestable = terms.requestable
    entitlement.max_duration_days = terms.max_duration_days
    entitlement.duration_unit = terms.duration_unit
    entitlement.min_duration = terms.min_duration
    entitlement.max_duration_hours = terms.max_duration_hours
    entitlement.approval_policy = policy
    _check_route(entitlement, owners, policy)
    entitlement.save(update_fields=["risk", "requestable", *DURATION_FIELDS, "approval_policy"])
    entitlement.owners.set(owners)
    after = snapshot(entitlement, [owner.pk for owner in owners])
    if after != before:
        record(actor=actor, action=CHANGED_ACTION, obj=entitlement, before=before, after=after)
    return entitlement


def check_terms(terms: Terms) -> None:
    """`change_entitlement`'s checks of the terms alone, for an entitlement not created yet (the admin's add
    form, before it creates one): raises InvalidInput with the field, and changes nothing."""
    _check_shape(terms)
    owners = _owners(terms.owner_ids)
    policy = _policy(terms.approval_policy_id)
    _check_route(Entitlement(risk=terms.risk, approval_policy=policy), owners, policy)


def snapshot(entitlement: Entitlement, owner_ids: Iterable[int]) -> dict:
    """The audited terms, under the names the admin's `catalog.entitlement_changed` events give them."""
    return {
        "risk": entitlement.risk,
        "requestable": entitlement.requestable,
        "max_duration_days": entitlement.max_duration_days,
        "duration_unit": entitlement.duration_unit,
        "min_duration": entitlement.min_duration,
        "max_duration_hours": entitlement.max_duration_hours,
        "approval_policy": entitlement.approval_policy_id,
        "owners": sorted(owner_ids),
    }


def _check_shape(terms: Terms) -> None:
    if terms.risk not in Risk.values:
        raise InvalidInput("Choose a risk level: low, medium or high.", field="risk")
    days = terms.max_duration_days
    if days is not None and not 1 <= days <= MAX_DURATION_DAYS:
        raise InvalidInput(
            f"The maximum duration is between 1 and {MAX_DURATION_DAYS} days, or empty for no end date.",
            field="max_duration_days",
        )
    _check_durations(terms)
    if len(set(terms.owner_ids)) > MAX_OWNERS:
        raise InvalidInput(f"Name at most {MAX_OWNERS} owners.", field="owners")


def _check_durations(terms: Terms) -> None:
    """The unit and its bounds, as the entitlement's constraints want them, refused in words first."""
    if terms.duration_unit not in DurationUnit.values:
        raise InvalidInput("Choose whether grants are counted in hours or in days.", field="duration_unit")
    maximum: int | None
    if terms.duration_unit == DurationUnit.HOURS:
        hours = terms.max_duration_hours
        if hours is None or not 1 <= hours <= MAX_DURATION_HOURS:
            raise InvalidInput(
                f"Counted in hours, it needs a maximum between 1 and {MAX_DURATION_HOURS} hours.",
                field="max_duration_hours",
            )
        if terms.max_duration_days is not None:
            raise InvalidInput(
                "Counted in hours, its maximum is in hours: leave the maximum in days empty.", field="max_duration_days"
            )
        maximum, unit = hours, "hours"
    else:
        if terms.max_duration_hours is not None:
            raise InvalidInput(
                "Counted in days, its maximum is in days: leave the maximum in hours empty.",
                field="max_duration_hours",
            )
        maximum, unit = terms.max_duration_days, "days"
    shortest = terms.min_duration
    if shortest is None or not 1 <= shortest <= (maximum or MAX_DURATION_DAYS):
        raise InvalidInput(
            f"The minimum duration is at least 1 and at most the maximum ({maximum or MAX_DURATION_DAYS} {unit}).",
            field="min_duration",
        )


def _owners(owner_ids: list[int]) -> list:
    owners = list(get_user_model().objects.filter(pk__in=set(owner_ids)).order_by("pk"))
    if len(owners) != len(set(owner_ids)):
        raise InvalidInput("One of the owners chosen does not exist.", field="owners")
    gone = [str(owner) for owner in owners if not owner.is_active or owner.is_leaver]
    if gone:
        raise InvalidInput(f"{', '.join(gone)} can no longer sign in: choose owners who can.", field="owners")
    return owners


def _policy(policy_id: int | None) -> ApprovalPolicy | None:
    if policy_id is None:
        return None
    policy = ApprovalPolicy.objects.select_related("fallback_approver").filter(pk=policy_id).first()
    if policy is None:
        raise InvalidInput("That approval policy does not exist.", field="approval_policy")
    return policy


def _check_route(entitlement: Entitlement, owners: list, policy: ApprovalPolicy | None) -> None:
    """Refuse terms under which requests could not be decided as the policy means them to be."""
    if not owners and needs_owners(entitlement):
        raise InvalidInput(
            "Its approval policy asks the entitlement's owners: choose at least one owner, "
            "or a policy without an owners' stage.",
            field="owners",
        )
    automatic_only = policy is not None and policy.auto_approve and not policy.stages.exists()
    if policy is not None and automatic_only and entitlement.risk != Risk.LOW:
        raise InvalidInput(
            f"{policy.name} approves automatically, which applies to low-risk entitlements only, and has no "
            f"stages for a {entitlement.get_risk_display().lower()}-risk one: choose another policy or low risk.",
            field="approval_policy",
        )
