"""One rule decides a request's client address: PORTAL_TRUSTED_PROXIES (audit/context.py).

The audit trail, allauth's sign-in rate limits and the API throttles all count by it, so a client
cannot choose its address with an X-Forwarded-For header: with no trusted proxy the header is ignored;
with one, only the entry that proxy appended (the rightmost) counts, whatever the client put before it.
"""

import os

import pytest
from allauth.account.adapter import get_adapter
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from access.models import AccessRequest
from api.throttling import AnonRateThrottle, ClientAddressMixin, ScopedRateThrottle, UserRateThrottle
from audit.context import client_address
from audit.models import AuditEvent
from tests.conftest import PASSWORD

GOOD_REASON = "Deploying the billing service for the Q4 release"

PROXY = "10.0.0.1"
CLIENT = "198.51.100.7"
TOO_MANY = "Too many failed login attempts"
SPOOFED = ["203.0.113.66", "127.0.0.1", "203.0.113.66, 192.0.2.1", "not-an-address", " , ,"]


@pytest.fixture
def proxies(settings):
    """Set PORTAL_TRUSTED_PROXIES as portal/settings.py does (it also sets DRF's NUM_PROXIES from it)."""

    def trust(count: int) -> None:
        settings.TRUSTED_PROXIES = count
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    return trust


def _api_views():
    """Every DRF view class routed in the portal."""

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
                if isinstance(view, type) and issubclass(view, APIView):
                    yield view

    return set(walk(get_resolver().url_patterns))


def throttles_in_use():
    """Every throttle class the API uses (each view's own, and DRF's defaults), and the portal's own
    throttle classes, which any view that wants one derives from. The token endpoint needs none: allauth
    limits its sign-ins."""
    used = {throttle for view in _api_views() for throttle in view.throttle_classes}
    used |= set(api_settings.DEFAULT_THROTTLE_CLASSES) | {AnonRateThrottle, UserRateThrottle, ScopedRateThrottle}
    return sorted(used, key=lambda cls: cls.__qualname__)


def throttle_identity(throttle_class, **meta) -> str:
    throttle = throttle_class()
    drf_request = APIView().initialize_request(APIRequestFactory().post("/api/token/", **meta))
    drf_request.user = AnonymousUser()
    return throttle.get_ident(drf_request)


def test_every_throttle_the_api_uses_counts_by_the_portals_client_address():
    used = {throttle for view in _api_views() for throttle in view.throttle_classes}
    used |= set(api_settings.DEFAULT_THROTTLE_CLASSES)
    assert all(issubclass(throttle, ClientAddressMixin) for throttle in used), used


# --- the rule itself -------------------------------------------------------------------------------


@pytest.mark.parametrize("forwarded", SPOOFED)
def test_without_trusted_proxies_a_forwarded_header_changes_no_address(proxies, forwarded):
    proxies(0)
    request = RequestFactory().get("/", REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == CLIENT
    assert get_adapter().get_client_ip(request) == CLIENT, "allauth's rate-limit key"
    for throttle in throttles_in_use():
        assert throttle_identity(throttle, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=forwarded) == CLIENT, throttle


@pytest.mark.parametrize("spoofed", ["203.0.113.66", "127.0.0.1", "192.0.2.1, 192.0.2.2"])
def test_with_one_trusted_proxy_the_entry_it_appended_counts_and_a_spoofed_left_entry_is_ignored(proxies, spoofed):
    proxies(1)
    forwarded = f"{spoofed}, {CLIENT}"
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == CLIENT
    assert get_adapter().get_client_ip(request) == CLIENT, "allauth's rate-limit key"
    for throttle in throttles_in_use():
        assert throttle_identity(throttle, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded) == CLIENT, throttle


def test_with_two_trusted_proxies_the_second_entry_from_the_right_counts(proxies):
    proxies(2)
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"203.0.113.66, {CLIENT}, 10.0.0.2")

    assert client_address(request) == CLIENT


@pytest.mark.parametrize("throttle", [None, AnonRateThrottle, UserRateThrottle, ScopedRateThrottle])
def test_a_header_shorter_than_the_proxy_chain_counts_the_connection(proxies, throttle):
    """It did not pass through every trusted proxy, so none of its entries was written by one."""
    proxies(2)
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    if throttle is None:
        assert client_address(RequestFactory().get("/", **meta)) == PROXY
        assert get_adapter().get_client_ip(RequestFactory().get("/", **meta)) == PROXY
    else:
        assert throttle_identity(throttle, **meta) == PROXY


def test_a_trusted_entry_that_is_no_address_counts_the_connection(proxies):
    proxies(1)
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66, unknown")

    assert client_address(request) == PROXY


# --- where the address is used -------------------------------------------------------------------


def _ask_for_developers(cast, sandbox, **meta) -> AuditEvent:
    browser = Client()
    browser.force_login(cast.alice)
    browser.post(reverse("access:request_new", args=[sandbox.developers.pk]), {"justification": GOOD_REASON}, **meta)
    submitted = AccessRequest.objects.get(beneficiary=cast.alice)
    return AuditEvent.objects.get(action="request.submitted", object_id=str(submitted.pk))


@pytest.mark.parametrize("forwarded", ["203.0.113.66", "203.0.113.66, 192.0.2.1"])
def test_the_audit_trail_ignores_a_forwarded_header_without_trusted_proxies(proxies, cast, sandbox, forwarded):
    proxies(0)
    event = _ask_for_developers(cast, sandbox, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=forwarded)

    assert event.ip == CLIENT


def test_the_audit_trail_records_the_address_the_trusted_proxy_saw(proxies, cast, sandbox):
    proxies(1)
    event = _ask_for_developers(cast, sandbox, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"203.0.113.66, {CLIENT}")

    assert event.ip == CLIENT


def test_a_forwarded_header_does_not_escape_the_failed_sign_in_limit(proxies, cast):
    """allauth allows 10 failed sign-ins a minute per address: new X-Forwarded-For values don't reset it."""
    proxies(0)
    pid = os.getpid()
    address = f"10.{pid >> 8 & 255}.{pid & 255}.201"
    browser = Client(REMOTE_ADDR=address)
    answers = [
        browser.post(
            reverse("account_login"),
            {"login": f"nobody{attempt}@example.com", "password": PASSWORD},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        ).content.decode()
        for attempt in range(11)
    ]

    assert not any(TOO_MANY in answer for answer in answers[:10])
    assert TOO_MANY in answers[10]
