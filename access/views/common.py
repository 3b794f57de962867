from collections.abc import Callable

from django.core.paginator import Paginator
from django.urls import reverse

PAGE_SIZE = 25


def page_of(request, rows, size: int = PAGE_SIZE):
    return Paginator(rows, size).get_page(request.GET.get("page"))


def path_for_each(name: str) -> Callable[[int], str]:
    """`reverse(name, args=[pk])` for each row of a page, from one reverse: the URL resolver is walked once
    a page rather than once for each link of each row (the catalog's 25 rows had 75). For paths whose one
    argument is an id."""
    stand_in = "987654321"
    before, after = reverse(name, args=[int(stand_in)]).split(stand_in)
    return lambda pk: f"{before}{pk}{after}"


def show_refusal(form, exc) -> int:
    """Put a service's refusal on the form (on its field when the form has one) and return its status."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return exc.status


def submitted_message(created, *, extension: bool = False) -> str:
    """What the person is told after sending requests. Those a policy approved at once are said to be
    approved, never "sent for approval": nobody will be asked."""
    approved = ", ".join(item.entitlement.name for item in created if item.state == item.State.APPROVED)
    waiting = [item.entitlement.name for item in created if item.state == item.State.PENDING]
    parts = []
    if len(waiting) > 1:
        parts.append(f"{len(waiting)} requests sent for approval: {', '.join(waiting)}.")
    elif waiting:
        parts.append(f"Your request {'to extend' if extension else 'for'} {waiting[0]} was sent for approval.")
    if approved:
        done = "extended" if extension else "granted"
        parts.append(f"Approved automatically, no approver needed: {approved} is being {done} now.")
    return " ".join(parts)
