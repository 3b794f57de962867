"""Hostile input stops here, for pages and API alike, before any view or the database sees it.

Checked on every request: the body's declared size (DATA_UPLOAD_MAX_MEMORY_SIZE; the portal takes
no file uploads, so it bounds every body, JSON included, which Django itself would not), the query
string and url-encoded or multipart form fields (no NUL, UTF-8 only). Path arguments of third-party
routes (allauth's <int:pk>) beyond an id's 18 digits are a 404, like the portal's own <id:...> routes.
A `RefusedInput` raised by a view (an id filter with too many digits) is answered the same way: 400
with the rule in words, as a page, or under the API as its one error body (`inputs.refusals.error_body`).
"""

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.template import loader
from django.urls import reverse
from django.utils.http import parse_header_parameters

from inputs.refusals import error_body
from inputs.rules import BAD_LENGTH, MAX_ID, TOO_BIG, RefusedInput, check_encoded, check_text

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def check_request(request) -> None:
    _check_size(request.META.get("CONTENT_LENGTH"))
    check_encoded(request.META.get("QUERY_STRING", "").encode("iso-8859-1", errors="replace"))
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type, _ = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    if content_type == FORM:
        check_encoded(request.body)
    elif content_type == MULTIPART:
        for name, values in request.POST.lists():
            check_text(name)
            for value in values:
                check_text(value)


def _check_size(declared) -> None:
    if not declared:
        return
    try:
        length = int(declared)
    except ValueError:
        raise RefusedInput(BAD_LENGTH) from None
    if length < 0:
        raise RefusedInput(BAD_LENGTH)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        raise RefusedInput(TOO_BIG, status=413)


SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def refusal(request, message: str, status: int = 400) -> HttpResponse:
    """The rule in words: the API's error body under the API, else a page of its own that needs nothing from
    the database (no session, no navigation counts), like the 500 page."""
    if request.path_info.startswith("/scim/"):
        # An identity provider's SCIM client reads an RFC 7644 error body.
        body = {"schemas": [SCIM_ERROR], "detail": message, "status": str(status)}
        return JsonResponse(body, status=status, content_type="application/scim+json")
    if under_api(request):
        return JsonResponse(error_body(message), status=status)
    return HttpResponse(loader.render_to_string("errors/400.html", {"message": message}), status=status)


def under_api(request) -> bool:
    """Whether the request is the API's, whose errors are JSON (`error_body`), never a page."""
    return request.path_info.startswith(reverse("api:api-root"))


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_request(request)
        except RefusedInput as refused:
            return refusal(request, refused.message, refused.status)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in [*view_args, *view_kwargs.values()]:
            if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_ID:
                return self._not_found(request, "No object has an id that large.")
            if isinstance(value, str) and "\x00" in value:
                return self._not_found(request, "No object has that name.")
        return None

    @staticmethod
    def _not_found(request, message: str):
        if request.path_info.startswith("/scim/"):
            return refusal(request, message, 404)
        raise Http404(message)

    def process_exception(self, request, exception):
        if isinstance(exception, RefusedInput):
            return refusal(request, exception.message, exception.status)
        return None
