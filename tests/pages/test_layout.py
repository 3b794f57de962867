"""The shared layout: static files served locally, error pages, sign-out by POST only."""

import re

import pytest
from django.test import RequestFactory
from django.urls import reverse

from portal import views


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/bootstrap/bootstrap.min.css",
        "/static/vendor/bootstrap/bootstrap.bundle.min.js",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/bootstrap-icons/fonts/bootstrap-icons.woff2",
    ],
)
def test_vendored_libraries_are_served_by_the_portal(client, db, path):
    response = client.get(path)

    assert response.status_code == 200
    b"".join(response.streaming_content)


def test_pages_load_nothing_from_other_sites(client_for, cast):
    page = client_for(cast.alice).get("/").content.decode()

    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page)
    assert external == []


def test_sign_out_is_a_post(client_for, cast):
    client = client_for(cast.alice)

    assert client.post(reverse("account_logout")).status_code == 302
    assert client.get("/").status_code == 302, "signed out: sent to sign in"


def test_healthz_answers_without_login_as_the_live_probe(client, db):
    answer = client.get("/healthz")

    assert (answer.status_code, answer.json()["probe"], answer.json()["status"]) == (200, "live", "ok")


def test_error_pages(cast):
    request = RequestFactory().get("/somewhere")
    request.user = cast.alice

    assert b"You do not have permission" in views.error_403(request).content
    server_error = views.error_500(request)
    assert server_error.status_code == 500
    assert b"Nothing you did caused this" in server_error.content


@pytest.mark.parametrize(
    ("url_name", "args", "governance"),
    [
        ("access:people", [], True),
        ("access:entitlements", [], True),
        ("reviews:campaigns", [], True),
        ("sod:rules", [], True),
        ("audit:events", [], True),
        ("access:catalog", [], False),
        ("access:my_access", [], False),
    ],
)
def test_the_governance_menu_is_marked_current_on_its_pages_only(client_for, cast, url_name, args, governance):
    page = client_for(cast.erin).get(reverse(url_name, args=args)).content.decode()

    toggle = re.search(r'<a class="nav-link dropdown-toggle([^"]*)"[^>]*>Governance</a>', page)
    assert toggle is not None and ("active" in toggle.group(1)) is governance
