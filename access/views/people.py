"""Governance → People: everyone, one person's access and open requests, and marking a leaver.

Governance admins and auditors read; only governance admins mark a leaver or retry a removal, and
only through the functions the Django admin, the API and the HR feed call: `accounts.services.mark_leaver`
(which refuses self-marking, the last governance admin and a leaver marked twice) and
`access.services.retry_grant`. Everyone else gets 403; an unknown person 404.

Here in `access` rather than `accounts`: the pages read grants, requests and their sync state, and
`accounts` sits below `access` (docs/architecture.md).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import people_selectors as selectors
from access import services
from access.filters import PeopleFilter
from access.forms import LeaverConfirmForm
from access.models import Grant
from accounts.roles import is_governance_admin, reads_everything
from accounts.services import mark_leaver
from audit.pagination import CappedPaginator
from inputs.refusals import Refusal

PAGE_SIZE = 25
REMOVAL_PAGE_SIZE = 50


def _readers_only(request) -> None:
    if not reads_everything(request.user):
        raise PermissionDenied


def _admins_only(request) -> None:
    """Marking leavers and retrying are governance admins' alone; auditors only read (403)."""
    if not is_governance_admin(request.user):
        raise PermissionDenied


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
def people(request):
    """Everyone, searchable and filtered, with manager, roles, active grants and state. The same queries
    whatever the number of people: the departments (a skip scan), the count (capped), the page's ids
    (from the name index) and those people with their roles and grants."""
    _readers_only(request)
    filters = PeopleFilter(request.GET, queryset=selectors.people())
    # A filter that cannot be read lists nobody rather than everybody, so it is never mistaken for a result.
    valid = filters.is_valid()
    found = filters.qs if valid else filters.queryset.none()
    page = CappedPaginator(selectors.ids_in_list_order(found), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "page": page,
        "rows": [(person, selectors.roles_of(person)) for person in selectors.people_by_id(page)],
        "query": _query_without(request, "page"),
    }
    return render(request, "access/people.html", context, status=200 if valid else 400)


def _page(rows: QuerySet, number, size: int = PAGE_SIZE, count: int | None = None) -> Page:
    """A page of `rows`. `count`: their number when already known (the removal's total counts its lines),
    not asked again. An empty list reads nothing more: the query of an empty page is still built, its
    joined columns and all, before it is found to have nothing to ask (a leaver's three lists, often empty)."""
    paginator = Paginator(rows, size)
    if count is not None:
        paginator.count = count
    page = paginator.get_page(number)
    if not paginator.count:
        page.object_list = []
    return page


@require_GET
def person(request, person_id):
    """Who they are, what they hold and are asking for; once a leaver, how the removal from AWS goes
    (htmx asks for that part alone, every 2 s, until nothing is waiting for the sync)."""
    _readers_only(request)
    subject = get_object_or_404(selectors.people_with_roles(), pk=person_id)
    progress = selectors.removal_of(subject)
    removal = {
        "removal": progress,
        "leaver_steps": selectors.leaver_steps_of(subject),
        "removal_lines": _page(
            selectors.removal_lines(subject), request.GET.get("removal_page"), REMOVAL_PAGE_SIZE, count=progress.total
        ),
        "person": subject,
        "can_change": is_governance_admin(request.user),
    }
    if request.headers.get("HX-Request"):
        return render(request, "access/_removal_progress.html", removal)
    context = {
        **removal,
        "roles": selectors.roles_of(subject),
        "grants": _page(selectors.holdings_of(subject), request.GET.get("grants_page")),
        "requests": _page(selectors.open_requests_of(subject), request.GET.get("requests_page")),
        "grants_query": _query_without(request, "grants_page"),
        "requests_query": _query_without(request, "requests_page"),
        "is_self": subject.pk == request.user.pk,
    }
    return render(request, "access/person.html", context)


@require_http_methods(["GET", "POST"])
def leaver(request, person_id):
    """The confirmation (GET): exactly what would be removed, and that it cannot be undone. The POST,
    with the box ticked on that same list, marks the leaver through `mark_leaver`."""
    _admins_only(request)
    subject = get_object_or_404(selectors.people(), pk=person_id)
    if subject.is_leaver and request.method == "GET":
        messages.info(request, f"{subject} is already a leaver; the removal of their access is shown below.")
        return redirect("access:person", person_id=subject.pk)
    preview = selectors.leaver_preview(subject)
    form = LeaverConfirmForm(request.POST or None, initial={"fingerprint": preview.fingerprint})
    context = {"person": subject, "preview": preview, "form": form, "is_self": subject.pk == request.user.pk}
    if request.method == "GET":
        return render(request, "access/leaver_confirm.html", context)
    if not form.is_valid():
        return render(request, "access/leaver_confirm.html", context, status=400)
    if form.cleaned_data["fingerprint"] != preview.fingerprint and not subject.is_leaver:
        # Something was granted, asked for or issued since the page was shown: confirm the list as it is now.
        context["form"] = LeaverConfirmForm(initial={"fingerprint": preview.fingerprint})
        context["refusal"] = f"What {subject} holds changed since this page was shown. Check the list again."
        return render(request, "access/leaver_confirm.html", context, status=409)
    try:
        mark_leaver(person=subject, actor=request.user)
    except Refusal as exc:
        # Refused by the service: themself, the last governance admin, or already a leaver (a second click).
        context.update(refusal=exc.message, refused=True)
        return render(request, "access/leaver_confirm.html", context, status=exc.status)
    messages.success(
        request,
        f"{subject} is a leaver. Their access is being removed from AWS; each removal counts once it is read back.",
    )
    return redirect("access:person", person_id=subject.pk)


@require_POST
def retry_removal(request, person_id, grant_id):
    """Queue a failed removal again, through the same service as Operations' retry."""
    _admins_only(request)
    grant = get_object_or_404(Grant.objects.select_related("entitlement", "user"), pk=grant_id, user_id=person_id)
    try:
        services.retry_grant(grant_id=grant.pk, actor=request.user)
    except Refusal as exc:
        messages.error(request, exc.message)
        return render(request, "errors/action_refused.html", {"message": exc.message}, status=exc.status)
    messages.success(request, f"Removing {grant.entitlement.name} from {grant.user} is queued again.")
    return redirect("access:person", person_id=person_id)
