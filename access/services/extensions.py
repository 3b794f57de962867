"""How far a time-bound grant may be extended: never past the entitlement's maximum duration, counted
from the grant's first activation in AWS, in the entitlement's unit (hours or days). Checked when the
extension is asked for and again at every approval vote (the grant may have ended, or the maximum been
lowered, meanwhile)."""

from datetime import datetime, timedelta

from access.models import Grant
from catalog.models import amount_in_words
from inputs.refusals import InvalidInput, StaleState


def first_activation(grant: Grant) -> datetime:
    """When this life of the grant was first active in AWS (grants.record_sync_success sets it)."""
    if grant.activated_at is not None:
        return grant.activated_at
    if grant.expires_at is None:  # never here: check_extension refused a grant without an end date
        raise StaleState(f"{grant.entitlement.name} has no end date: nothing to extend.")
    # A grant from before the field was kept: its first end date was its duration after activation.
    return grant.expires_at - (grant.term or timedelta(0))


def new_end(grant: Grant, extra: timedelta, now: datetime) -> datetime:
    """Extensions add to the current end date (or to now, should it have just passed)."""
    return max(grant.ends_at or now, now) + extra


def check_extension(grant: Grant, extra: timedelta, now: datetime) -> None:
    """Raise StaleState if the grant is no longer active and time-bound, InvalidInput if extending it by
    `extra` would take it past the entitlement's maximum from its first activation."""
    if grant.desired != Grant.Desired.PRESENT or grant.ends_at is None:
        raise StaleState(f"{grant.entitlement.name} is no longer active with an end date: nothing to extend.")
    entitlement = grant.entitlement
    maximum = entitlement.max_duration
    if maximum is None:
        return
    started = first_activation(grant)
    unit = entitlement.duration_unit
    limit = started + (timedelta(hours=maximum) if entitlement.in_hours else timedelta(days=maximum))
    if new_end(grant, extra, now) <= limit:
        return
    room_left = limit - max(grant.ends_at, now)
    left = int(room_left.total_seconds() // 3600) if entitlement.in_hours else room_left.days
    more = amount_in_words(left, unit).replace(" ", " more ", 1)  # "4 more days", "1 more hour"
    room = f"at most {more}" if left >= 1 else "no further: ask for it again once it ends"
    since = f"{started:%Y-%m-%d %H:%M}" if entitlement.in_hours else f"{started:%Y-%m-%d}"
    raise InvalidInput(
        f"{entitlement.name} can be held for at most {entitlement.max_duration_words} from when it was first "
        f"active ({since}), so it can be extended {room}.",
        field="duration_hours" if entitlement.in_hours else "duration_days",
    )
