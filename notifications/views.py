"""The notifications page. Thin: selectors to read, services to write; only one's own notifications."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from notifications import selectors, services

PAGE_SIZE = 25


@require_GET
def notification_list(request):
    page = Paginator(selectors.for_user(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "unread": selectors.unread_count(request.user)}
    return render(request, "notifications/list.html", context)


@require_POST
def mark_all_read(request):
    marked = services.mark_all_read(request.user)
    if marked:
        messages.success(request, f"Marked {marked} notification{'' if marked == 1 else 's'} as read.")
    else:
        messages.info(request, "You had no unread notifications.")
    # Back to the page the button was on, but never to another site. A path only: `redirect` would take
    # anything else for a view name to reverse, and fail on it.
    back = request.POST.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("notifications:list")
