from django.http import HttpRequest

from access.selectors import pending_assignments_for
from access.views.cart import cart_ids
from accounts.roles import menus_of
from notifications import selectors as notification_selectors
from reviews import selectors as review_selectors

# The pages under the Governance menu: whole apps, and the governance pages of the apps everyone uses.
GOVERNANCE_APPS = {"sod", "iam", "posture", "audit"}
GOVERNANCE_PAGES = {
    "reviews": {"campaigns", "campaign_new", "campaign_edit", "campaign_preview", "campaign"},
    "access": {"entitlements", "entitlement_edit", "people", "person", "leaver"},
}


def in_governance(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    return match.app_name in GOVERNANCE_APPS or match.url_name in GOVERNANCE_PAGES.get(match.app_name, ())


def in_django_admin(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.app_name == "admin"


def navigation(request: HttpRequest) -> dict[str, object]:
    """Badges in the navigation bar: approvals waiting, review lines waiting and unread notifications
    (one COUNT query each) and the cart size (from the session); and whether Approvals and Reviews are
    shown at all (one query), so an employee who decides nothing is not offered empty pages.

    None on the Django admin's pages: its templates have their own bar and show none of these, and the
    four queries would be a third of every admin list's."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or in_django_admin(request):
        return {}
    approvals_waiting = pending_assignments_for(user).values("approval__request").distinct().count()
    reviews_waiting = review_selectors.waiting_count(user)
    approves, reviews = menus_of(user)
    return {
        "nav_approvals_waiting": approvals_waiting,
        "nav_reviews_waiting": reviews_waiting,
        "nav_shows_approvals": approves or approvals_waiting > 0,
        "nav_shows_reviews": reviews or reviews_waiting > 0,
        "nav_in_governance": in_governance(request),
        "nav_cart_size": len(cart_ids(request)) if hasattr(request, "session") else 0,
        "nav_notifications_unread": notification_selectors.unread_count(user),
    }
