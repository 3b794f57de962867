"""Badges a row of a list shows, written by a tag rather than an included template: an `{% include %}` in a
loop pushes a context and renders a template for each row (the catalog's 25 rows, the inbox's 25)."""

from django import template
from django.utils.html import format_html

from catalog.models import Risk

register = template.Library()

RISK_WORDS: dict[str, str] = dict(Risk.choices)  # what get_risk_display says
RISK_TONES: dict[str, str] = {Risk.HIGH: "text-bg-danger", Risk.MEDIUM: "text-bg-warning"}
STATE_TONES = {"approved": "text-bg-success", "pending": "text-bg-warning", "denied": "text-bg-danger"}


@register.simple_tag
def risk_badge(entitlement) -> str:
    """An entitlement's risk, wherever the portal shows it: "High risk" in red, "Medium risk" in amber, "Low
    risk" in grey."""
    return risk_badge_of(entitlement.risk)


def risk_badge_of(risk: str) -> str:
    """The badge of a risk level (`Entitlement.risk`), for a page that reads entitlements as rows."""
    tone = RISK_TONES.get(risk, "text-bg-secondary")
    return format_html('<span class="badge {}">{} risk</span>', tone, RISK_WORDS.get(risk, risk))


@register.simple_tag
def request_state_badge(access_request) -> str:
    """A request's state: approved in green, pending in amber, denied in red, the others in grey."""
    tone = STATE_TONES.get(access_request.state, "text-bg-secondary")
    return format_html('<span class="badge {}">{}</span>', tone, access_request.get_state_display())
