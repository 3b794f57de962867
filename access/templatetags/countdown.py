"""The time left on a grant ending soon, in words the countdown script (static/portal/countdown.js)
keeps up to date in the browser: "in 1 h 40 min"."""

from datetime import timedelta

from django import template
from django.utils import timezone

register = template.Library()

# A grant ending within this shows a countdown on My access; later ends show a date.
COUNTDOWN_WITHIN = timedelta(days=1)


def left_in_words(seconds: float) -> str:
    """Mirrors countdown.js's words, so the page reads the same before and after the script runs."""
    if seconds <= 0:
        return "ending now"
    minutes = int(seconds // 60) + (1 if seconds % 60 else 0)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"in {hours} h {minutes} min"
    return f"in {hours} h" if hours else f"in {minutes} min"


@register.filter
def time_left(when) -> str:
    return left_in_words((when - timezone.now()).total_seconds())


@register.filter
def ends_soon(when) -> bool:
    """True when `when` is within a day: the page counts down to it."""
    return when is not None and when - timezone.now() <= COUNTDOWN_WITHIN
