"""The navigation bar's tags (templates/base.html, on every portal page).

- `fixed_url`: `{% url %}` for a page without arguments, reversed once per process and URL configuration:
  the bar's 21 links were half of the base template's rendering (21 reversals, about 1.5 ms a page).
- `badge_count` and `badge_words`: a badge's count up to BADGE_CAP as it is, past it "99+" ("more than 99"
  to a screen reader). The count comes from portal.context_processors, read up to BADGE_CAP + 1.
"""

import functools

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from portal.context_processors import BADGE_CAP

register = template.Library()


@register.simple_tag
def fixed_url(name: str) -> str:
    return reversed_once(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@functools.cache
def reversed_once(name: str, prefix: str, urlconf: str) -> str:
    """Keyed by the script prefix and URL configuration, which are all a reversal without arguments reads."""
    return reverse(name, urlconf=urlconf)


# A page rendered without the navigation's counts (the Django admin's, a refusal) passes "" for them.
@register.filter
def badge_count(count: int | str) -> str:
    return f"{BADGE_CAP}+" if isinstance(count, int) and count > BADGE_CAP else str(count)


@register.filter
def badge_words(count: int | str) -> str:
    return f"more than {BADGE_CAP}" if isinstance(count, int) and count > BADGE_CAP else str(count)
