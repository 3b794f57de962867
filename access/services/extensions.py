"""How far a time-bound grant may be extended: never past the entitlement's maximum duration, counted
from the grant's first activation in AWS. Checked when the extension is asked for and again at every
approval vote (the grant may have ended, or the maximum been lowered, meanwhile)."""

from datetime import timedelta

from django.template.defaultfilters import pluralize

from access.errors import InvalidInput, StaleState
from access.models import Grant


def first_activation(grant: Grant):
    """When this life of the grant was first active in AWS (grants.record_sync_success sets it)."""
    if grant.activated_at is not None:
        return grant.activated_at
    # A grant from before the field was kept: its first end date was this many days after activation.
    return grant.expires_at - timedelta(days=grant.duration_days or 0)


def new_end(grant: Grant, duration_days: int, now):
    """Extensions add to the current end date (or to now, should it have just passed)."""
    return max(grant.expires_at or now, now) + timedelta(days=duration_days)


def check_extension(grant: Grant, duration_days: int, now) -> None:
    """Raise StaleState if the grant is no longer active and time-bound, InvalidInput if extending it by
    `duration_days` would take it past the entitlement's maximum from its first activation."""
    if grant.desired != Grant.Desired.PRESENT or grant.expires_at is None:
        raise StaleState(f"{grant.entitlement.name} is no longer active with an end date: nothing to extend.")
    maximum = grant.entitlement.max_duration_days
    if maximum is None:
        return
    started = first_activation(grant)
    limit = started + timedelta(days=maximum)
    if new_end(grant, duration_days, now) <= limit:
        return
    left = (limit - max(grant.expires_at, now)).days
    room = f"at most {left} more day{pluralize(left)}" if left >= 1 else "no further: ask for it again once it ends"
    raise InvalidInput(
        f"{grant.entitlement.name} can be held for at most {maximum} day{pluralize(maximum)} from when it was first "
        f"active ({started:%Y-%m-%d}), so it can be extended {room}.",
        field="duration_days",
    )
