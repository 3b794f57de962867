from access.selectors import pending_assignments_for
from access.views.cart import cart_ids
from notifications import selectors as notification_selectors
from reviews import selectors as review_selectors


def navigation(request):
    """Badges in the navigation bar: approvals waiting, review lines waiting and unread notifications
    (one COUNT query each) and the cart size (from the session)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_approvals_waiting": pending_assignments_for(user).values("approval__request").distinct().count(),
        "nav_reviews_waiting": review_selectors.waiting_count(user),
        "nav_cart_size": len(cart_ids(request)) if hasattr(request, "session") else 0,
        "nav_notifications_unread": notification_selectors.unread_count(user),
    }
