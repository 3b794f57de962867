"""The home page ("what needs me") and the error pages.

Under /api/ the error handlers answer the API's one error body (`inputs.refusals.error_body`) in JSON, never
a page: an unknown route, a 404 raised before DRF (an id beyond 18 digits), a request Django itself refuses
and a server error read the same to a client as DRF's own answers (api/exceptions.py).
"""

from datetime import timedelta

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views.decorators.http import require_GET

from access import selectors as access_selectors
from access.models import AccessRequest, Grant
from accounts import roles
from inputs.middleware import under_api
from inputs.refusals import error_body
from inputs.rules import TOO_BIG


@require_GET
def home(request):
    user = request.user
    context = {
        "approvals_waiting": len(access_selectors.awaiting_decision_by(user)),
        "my_pending": AccessRequest.objects.filter(beneficiary=user, state=AccessRequest.State.PENDING).count(),
        "my_access": access_selectors.access_of(user).count(),
        "ending_soon": access_selectors.access_of(user)
        .filter(expires_at__isnull=False, expires_at__lte=timezone.now() + timedelta(days=14))
        .count(),
        "failed_syncs": Grant.objects.filter(sync_state=Grant.SyncState.FAILED).count()
        if roles.reads_everything(user)
        else None,
    }
    return render(request, "portal/home.html", context)


def email_managed_elsewhere(request):
    """allauth's email page (add, change, remove addresses) is closed: the email is the login and
    the IAM user name follows it (accounts.models.User.iam_user_name), so it changes only through
    the HR feed, single sign-on or a governance admin, never by the person themselves."""
    raise Http404("Email addresses are managed by the HR feed and governance admins.")


# Django's own refusals (SuspiciousOperation), said in words. Input the portal refuses itself comes with
# its words already (inputs.middleware).
BAD_REQUESTS = {
    RequestDataTooBig: TOO_BIG,
    TooManyFieldsSent: "The form has too many fields.",
    TooManyFilesSent: "The form has too many files.",
}


NOT_ALLOWED = "You do not have permission to do this."
NOT_FOUND = "Not found."
SERVER_ERROR = (
    "Something went wrong on our side; nothing was half-done, the change was rolled back. "
    "The team has been told. Try again in a minute."
)


def error_400(request, exception=None):
    message = next(
        (words for kind, words in BAD_REQUESTS.items() if isinstance(exception, kind)),
        "The request could not be understood.",
    )
    # A body too large without a Content-Length to refuse it by (inputs.middleware refuses those) is a 413 too.
    status = 413 if isinstance(exception, RequestDataTooBig) else 400
    if under_api(request):
        return JsonResponse(error_body(message), status=status)
    return HttpResponse(loader.get_template("errors/400.html").render({"message": message}), status=status)


def error_403(request, exception=None):
    if under_api(request):
        return JsonResponse(error_body(_words_of(exception) or NOT_ALLOWED), status=403)
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    if under_api(request):
        return JsonResponse(error_body(_words_of(exception) or NOT_FOUND), status=404)
    return render(request, "errors/404.html", status=404)


def error_500(request):
    if under_api(request):
        return JsonResponse(error_body(SERVER_ERROR), status=500)
    # No context processors: the database may be what failed.
    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


def _words_of(exception) -> str | None:
    """The words an Http404 or PermissionDenied was raised with, if any; an unknown route's 404 carries the
    resolver's report (the patterns tried), which no client is shown."""
    words = exception.args[0] if exception is not None and exception.args else None
    return words if isinstance(words, str) and words else None
