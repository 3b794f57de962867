from access.selectors import pending_assignments_for
from access.views.cart import cart_ids


def navigation(request):
    """Badges in the navigation bar: approvals waiting (one COUNT query) and the cart size (session)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_approvals_waiting": pending_assignments_for(user).values("approval__request").distinct().count(),
        "nav_cart_size": len(cart_ids(request)) if hasattr(request, "session") else 0,
    }
