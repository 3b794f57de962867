"""Every error the API answers, 400 to 503, has one body: {"detail", "field", "errors"} (the schema's `Error`).

`detail` is for the person, `field` names the input it concerns (or is null), `errors` lists every
validation message by field and is empty for any other error. Whoever answers (a service's refusal, DRF,
the input guard, the MFA or cache-outage middleware, Django's own 400, 403, 404 and 500 under /api/), a client
reads the same three keys; an MFA refusal adds its `code`. The pages keep their HTML.

Alice asks for access and Bob, her manager, decides; Dave manages another team and holds no governance
rights; a script with no token at all plays the anonymous caller.
"""

import socket

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client, override_settings
from django.urls import path
from rest_framework.test import APIClient

from accounts.api_sign_in import REFUSED, TOO_MANY
from accounts.mfa import ENROL_MESSAGE
from outbox.outages import RETRY_AFTER_SECONDS, UNAVAILABLE
from portal.urls import handler400, handler403, handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns
from tests.api.conftest import GOOD_REASON
from tests.conftest import PASSWORD, own_address

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

NOT_UTF8 = "The text is not valid UTF-8."
TOO_BIG = "The request body is too large."
REQUIRED = "This field is required."
SERVER_ERROR = (
    "Something went wrong on our side; nothing was half-done, the change was rolled back. "
    "The team has been told. Try again in a minute."
)


def broken(request):
    raise RuntimeError("a bug in a view")


def closed(request):
    raise PermissionDenied("Closed for maintenance.")


# The portal's own routes and error handlers plus views outside DRF that fail or refuse, under the API and
# not (pytest.mark.urls below).
urlpatterns = [
    path("api/broken/", broken),
    path("broken/", broken),
    path("api/closed/", closed),
    path("closed/", closed),
    *portal_urlpatterns,
]


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    return response.json()


def refused(detail: str, field: str | None = None, **extra) -> dict:
    return {"detail": detail, "field": field, "errors": {}, **extra}


@pytest.fixture
def signed_in(db):
    """`person` in a browser session, the way the pages and Swagger UI call the API."""

    def client(person):
        browser = Client(raise_request_exception=False)
        browser.force_login(person)
        return browser

    return client


def test_an_unknown_route_under_the_api_is_a_json_404(cast, api_for):
    assert error(api_for(cast.alice).get("/api/no-such-thing/"), 404) == refused("Not found.")


def test_an_id_beyond_18_digits_under_the_api_is_a_json_404_while_pages_keep_theirs(cast, signed_in):
    alice = signed_in(cast.alice)

    api = alice.get("/api/requests/" + "9" * 19 + "/")
    page = alice.get("/no-such-page/")

    assert error(api, 404) == refused("Not found.")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_an_object_the_caller_may_not_see_is_a_404_in_words(cast, api_for, alices_request):
    response = api_for(cast.dave).post(f"/api/requests/{alices_request.pk}/approve/", {}, format="json")

    assert error(response, 404) == refused("That request does not exist.")


def test_the_wrong_method_is_a_405(cast, api_for):
    response = api_for(cast.bob).get("/api/approvals/bulk/")

    assert error(response, 405) == refused('Method "GET" not allowed.')


def test_json_that_does_not_parse_is_a_400(cast, api_for):
    response = api_for(cast.alice).post("/api/requests/", '{"entitlement": ', content_type="application/json")

    body = error(response, 400)
    assert body["detail"].startswith("JSON parse error")
    assert body == refused(body["detail"])


def test_a_body_that_is_not_utf8_is_a_400(cast, api_for):
    response = api_for(cast.bob).post("/api/approvals/bulk/", b'{"comment": "\xff"}', content_type="application/json")

    assert error(response, 400) == refused(NOT_UTF8)


def test_a_body_past_the_limit_is_a_413_before_it_is_read(cast, api_for):
    body = b'{"justification": "' + b"a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'

    response = api_for(cast.alice).post("/api/requests/", body, content_type="application/json")

    assert error(response, 413) == refused(TOO_BIG)


def test_a_form_with_too_many_fields_is_djangos_own_400_in_the_same_body(cast, api_for):
    fields = "&".join(f"f{number}=x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = api_for(cast.bob).post("/api/approvals/bulk/", fields, content_type="application/x-www-form-urlencoded")

    assert error(response, 400) == refused("The form has too many fields.")


def test_a_media_type_the_api_does_not_read_is_a_415(cast, api_for):
    response = api_for(cast.alice).post("/api/requests/", "entitlement=1", content_type="text/plain")

    assert error(response, 415) == refused('Unsupported media type "text/plain" in request.')


def test_validation_lists_every_message_by_field_and_repeats_the_first(cast, api_for):
    response = api_for(cast.alice).post("/api/requests/", {}, format="json")

    assert error(response, 400) == {
        "detail": REQUIRED,
        "field": "entitlement",
        "errors": {"entitlement": [REQUIRED], "justification": [REQUIRED]},
    }


def test_a_nested_field_is_named_by_its_path(cast, sandbox, api_for):
    items = [{"entitlement": sandbox.developers.pk}, {"duration_days": 3}]

    response = api_for(cast.alice).post(
        "/api/requests/cart/", {"justification": GOOD_REASON, "items": items}, format="json"
    )

    assert error(response, 400) == {
        "detail": REQUIRED,
        "field": "items.1.entitlement",
        "errors": {"items.1.entitlement": [REQUIRED]},
    }


def test_a_rule_refusing_an_input_names_its_field(cast, sandbox, api_for):
    sandbox.developers.max_duration_days = 30
    sandbox.developers.save()

    response = api_for(cast.alice).post(
        "/api/requests/",
        {"entitlement": sandbox.developers.pk, "justification": GOOD_REASON, "duration_days": 31},
        format="json",
    )

    assert error(response, 400) == refused("Developers can be held for at most 30 days.", "duration_days")


def test_a_decision_on_a_request_that_moved_on_is_a_409(cast, api_for, alices_request):
    alice = api_for(cast.alice)
    alice.post(f"/api/requests/{alices_request.pk}/cancel/")

    response = alice.post(f"/api/requests/{alices_request.pk}/cancel/")

    assert error(response, 409) == refused("This request is already cancelled.")


def test_a_service_refusing_the_caller_is_a_403(cast, api_for, alices_request):
    response = api_for(cast.alice).post(f"/api/requests/{alices_request.pk}/approve/", {}, format="json")

    assert error(response, 403) == refused("You cannot decide a request for your own access.")


def test_a_permission_the_caller_lacks_is_a_403(cast, api_for):
    response = api_for(cast.dave).post(f"/api/people/{cast.alice.pk}/leaver/")

    assert error(response, 403) == refused("Only governance admins may change people.")


def test_a_decider_without_a_second_factor_gets_a_403_with_its_code(cast, signed_in):
    Authenticator.objects.filter(user=cast.bob).delete()

    response = signed_in(cast.bob).get("/api/approvals/")

    assert error(response, 403) == refused(ENROL_MESSAGE, code="mfa_required")


def test_no_credentials_is_a_401(db):
    response = APIClient().get("/api/requests/")

    assert error(response, 401) == refused("Authentication credentials were not provided.")
    assert response["WWW-Authenticate"] == "Token"


def test_a_refused_sign_in_is_a_400_and_too_many_a_429(cast):
    script = APIClient(REMOTE_ADDR=own_address())
    wrong = {"email": cast.alice.email, "password": "not-the-password", "name": "laptop"}

    first = script.post("/api/token/", wrong, format="json")
    for _ in range(4):
        script.post("/api/token/", wrong, format="json")
    locked = script.post("/api/token/", {**wrong, "password": PASSWORD}, format="json")

    assert error(first, 400) == refused(REFUSED)
    assert error(locked, 429) == refused(TOO_MANY)


def test_the_cache_out_of_reach_is_a_503_with_retry_after(cast):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port_nobody_listens_on = sock.getsockname()[1]
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port_nobody_listens_on}/1",
        }
    }

    # Only for the call: the API tests' own fixture empties the cache afterwards.
    with override_settings(CACHES=unreachable):
        response = APIClient(REMOTE_ADDR=own_address()).post(
            "/api/token/", {"email": cast.alice.email, "password": PASSWORD, "name": "laptop"}, format="json"
        )

    assert error(response, 503) == refused(UNAVAILABLE)
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


@pytest.mark.urls("tests.api.test_errors")
def test_a_bug_is_a_json_500_under_the_api_and_the_page_elsewhere(cast, signed_in):
    alice = signed_in(cast.alice)

    api = alice.get("/api/broken/")
    page = alice.get("/broken/")

    assert error(api, 500) == refused(SERVER_ERROR)
    assert page.status_code == 500 and "Something went wrong on our side" in page.content.decode()


@pytest.mark.urls("tests.api.test_errors")
def test_a_refusal_outside_drf_is_a_json_403_under_the_api_and_the_page_elsewhere(cast, signed_in):
    alice = signed_in(cast.alice)

    api = alice.get("/api/closed/")
    page = alice.get("/closed/")

    assert error(api, 403) == refused("Closed for maintenance.")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")
