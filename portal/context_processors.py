from access.selectors import pending_steps_for_approver


def navigation(request):
    """The approvals badge in the navigation bar (one COUNT query per page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_approvals_waiting": pending_steps_for_approver(user).count()}
