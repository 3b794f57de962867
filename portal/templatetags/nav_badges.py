"""How a navigation badge writes its count: up to BADGE_CAP as it is, past it "99+" ("more than 99" to a
screen reader). The count itself comes from portal.context_processors, read up to BADGE_CAP + 1."""

from django import template

from portal.context_processors import BADGE_CAP

register = template.Library()


@register.filter
def badge_count(count: int) -> str:
    return f"{BADGE_CAP}+" if count > BADGE_CAP else str(count)


@register.filter
def badge_words(count: int) -> str:
    return f"more than {BADGE_CAP}" if count > BADGE_CAP else str(count)
