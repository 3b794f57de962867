"""What a person holds now, as the inbox lists it beside each request: some ten entitlements a person, so
one call writes a row's list rather than a template loop of ten iterations (190 a page of 19 requests)."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def holding_items(holdings) -> str:
    """The `<li>` of each holding (`access.selectors.holdings_of`: entitlement and account names)."""
    if not holdings:
        return format_html("<li>{}</li>", "nothing yet")
    return format_html_join(
        "",
        '<li>{} <span class="text-body-secondary">({})</span></li>',
        ((holding.entitlement_name, holding.account_name) for holding in holdings),
    )
