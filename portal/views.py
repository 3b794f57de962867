"""The home page ("what needs me") and the error pages."""

from datetime import timedelta

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpResponseBadRequest, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views.decorators.http import require_GET

from access import selectors as access_selectors
from access.models import AccessRequest, Grant
from accounts import roles
from inputs.rules import TOO_BIG


@require_GET
def home(request):
    user = request.user
    context = {
        "approvals_waiting": access_selectors.awaiting_decision_by(user).count(),
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


def error_400(request, exception=None):
    message = next(
        (words for kind, words in BAD_REQUESTS.items() if isinstance(exception, kind)),
        "The request could not be understood.",
    )
    return HttpResponseBadRequest(loader.get_template("errors/400.html").render({"message": message}))


def error_403(request, exception=None):
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    return render(request, "errors/404.html", status=404)


def error_500(request):
    # No context processors: the database may be what failed.
    return HttpResponseServerError(loader.get_template("errors/500.html").render())
