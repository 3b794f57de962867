"""Input bounds, rule by rule: ids of at most 18 digits, no NUL, UTF-8 only, JSON at most 32 levels deep
with no number beyond 64 bits, bodies no larger than DATA_UPLOAD_MAX_MEMORY_SIZE. Each refusal is a
400 (a 404 for an id in the path, a 413 for a body too large) that says in words what was wrong, and
changes nothing; under the API in its one error body.

Clients here do not raise a view's exception, so what used to be a 500 is seen as one.
"""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import get_resolver, reverse

from access.models import AccessRequest
from audit.models import AuditEvent
from reviews.models import ReviewItem
from tests.security.test_authorization_matrix import patterns

TOO_LARGE = "That number is too large."
NUL = "The text contains a character that is not allowed (NUL)."
NOT_UTF8 = "The text is not valid UTF-8."
TOO_DEEP = "The request body is too deeply nested."
TOO_BIG = "The request body is too large."
NOT_AN_ID = "That is not an id: ids are whole numbers."
DEEPEST_JSON = 32  # levels of nesting a JSON body may have
PORTAL_APPS = ("access", "audit", "iam", "notifications", "posture", "reviews", "sod", "api")


def client_for(person=None) -> Client:
    client = Client(raise_request_exception=False)
    if person is not None:
        client.force_login(person)
    return client


def refused(words: str, field: str | None = None, errors: dict | None = None) -> dict:
    """The API's error body: the words, the field they concern and, for a validation error, every message."""
    return {"detail": words, "field": field, "errors": errors or {}}


def says(response, words: str) -> bool:
    return words in response.content.decode()


@pytest.fixture
def unchanged(db):
    """Asserts, after the test's requests, that no audit event was written (every change writes one)."""
    before = AuditEvent.objects.count()
    yield
    assert AuditEvent.objects.count() == before


# --- ids in the path ----------------------------------------------------------------------------


@pytest.mark.parametrize("huge", [2**63, 2**64, 10**40])
def test_huge_id_in_path_is_404(cast, world, huge):
    # Alice has no second factor to show, so approving first looks up whether the request needs one.
    alice = client_for(cast.alice)

    assert alice.get(f"/catalog/{huge}/").status_code == 404
    assert alice.post(f"/approvals/{huge}/approve/").status_code == 404
    assert alice.get(f"/reviews/{huge}/").status_code == 404


def test_huge_id_in_an_api_path_is_404(cast, world):
    ids, _ = world
    alice = client_for(cast.alice)

    assert alice.post(f"/api/requests/{2**64}/approve/", {}, content_type="application/json").status_code == 404
    assert alice.get(f"/api/requests/{10**19}/").status_code == 404
    assert alice.get(f"/api/requests/{ids['request_id']}/").status_code == 200  # a real id of hers still resolves


def test_huge_id_in_a_third_party_path_is_404(cast):
    """allauth's own routes take <int:pk>: an id no object can have is refused before its view."""
    response = client_for(cast.bob).post(f"/accounts/2fa/webauthn/keys/{2**64}/remove/")

    assert response.status_code == 404


def test_portal_routes_take_ids_of_at_most_18_digits():
    """Every id in the portal's own routes goes through the bounded <id:...> converter, never <int:...>."""
    unbounded = [
        pattern
        for name, pattern in patterns(get_resolver())
        if name.split(":")[0] in PORTAL_APPS and re.search(r"<int:|\(\?P<\w+>\\d\+\)", pattern)
    ]

    assert unbounded == []


# --- ids and numbers in query strings, forms and bodies ------------------------------------------


def test_huge_id_in_a_filter_is_400(cast, world, unchanged):
    ids, _ = world
    frank = client_for(cast.frank)

    violations = frank.get("/sod/violations/", {"rule": str(2**64)})
    queue = frank.get(f"/reviews/{ids['campaign_id']}/", {"account": "9" * 19})

    assert violations.status_code == 400 and says(violations, TOO_LARGE)
    assert queue.status_code == 400 and says(queue, TOO_LARGE)


def test_a_filter_id_in_other_digits_is_ignored(cast, world):
    """ "²" is a digit to str.isdigit but not to int(): such a filter is junk, and left out like any other."""
    ids, _ = world
    frank = client_for(cast.frank)

    assert frank.get("/sod/violations/", {"rule": "²"}).status_code == 200
    assert frank.get(f"/reviews/{ids['campaign_id']}/", {"account": "³"}).status_code == 200


def test_bulk_decision_with_a_huge_id_is_400_and_decides_nothing(cast, world, unchanged):
    ids, _ = world

    response = client_for(cast.bob).post(
        "/approvals/bulk/", {"decision": "deny", "request_ids": [str(ids["request_id"]), str(10**40)]}
    )

    assert response.status_code == 400 and says(response, TOO_LARGE)
    assert AccessRequest.objects.get(pk=ids["request_id"]).state == AccessRequest.State.PENDING


def test_review_decision_with_a_huge_item_id_is_400_and_decides_nothing(cast, world, unchanged):
    ids, _ = world

    response = client_for(cast.carol).post(
        f"/reviews/{ids['campaign_id']}/decide/",
        {"action": "keep", "items": [str(ids["item_id"]), str(2**64)]},
    )

    assert response.status_code == 400 and says(response, TOO_LARGE)
    assert ReviewItem.objects.get(pk=ids["item_id"]).decision == ReviewItem.Decision.UNDECIDED


def test_huge_ids_in_a_json_body_are_400(cast, world, unchanged):
    ids, _ = world
    carol, bob = client_for(cast.carol), client_for(cast.bob)

    items = carol.post(
        f"/api/reviews/campaigns/{ids['campaign_id']}/accept_recommendations/",
        {"item_ids": [2**64]},
        content_type="application/json",
    )
    # 19 digits: inside 64 bits, but more than any id has.
    requests = bob.post(
        "/api/approvals/bulk/", {"request_ids": [10**18], "decision": "deny"}, content_type="application/json"
    )

    assert items.status_code == 400 and items.json() == refused(TOO_LARGE)
    assert requests.status_code == 400 and requests.json() == refused(
        TOO_LARGE, "request_ids.0", {"request_ids.0": [TOO_LARGE]}
    )


def test_json_number_beyond_64_bits_is_400_anywhere_in_the_body(cast, sandbox, unchanged):
    response = client_for(cast.alice).post(
        "/api/requests/",
        {
            "entitlement": sandbox.developers.pk,
            "justification": "Deploying the billing service",
            "x": [{"y": -(2**63) - 1}],
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == refused(TOO_LARGE)


# --- NUL ----------------------------------------------------------------------------------------


def test_nul_in_filter_is_400(cast, world, unchanged):
    frank = client_for(cast.frank)

    page = frank.get("/audit/", {"q": "grant\x00"})
    api = frank.get("/api/catalog/", {"q": "dev\x00"})

    assert page.status_code == 400 and says(page, NUL)
    assert api.status_code == 400 and api.json() == refused(NUL)


def test_nul_in_the_admin_search_is_400(cast, world):
    response = client_for(cast.erin).get("/admin/catalog/entitlement/", {"q": "dev\x00"})

    assert response.status_code == 400 and says(response, NUL)


def test_nul_in_a_review_comment_is_400_and_decides_nothing(cast, world, unchanged):
    ids, _ = world

    response = client_for(cast.carol).post(
        f"/reviews/{ids['campaign_id']}/decide/",
        {"action": "revoke", "items": [str(ids["item_id"])], "comment": "No longer on the team\x00"},
    )

    assert response.status_code == 400 and says(response, NUL)
    assert ReviewItem.objects.get(pk=ids["item_id"]).decision == ReviewItem.Decision.UNDECIDED


def test_nul_in_a_json_body_is_400(cast, world, unchanged):
    ids, _ = world

    response = client_for(cast.bob).post(
        f"/api/requests/{ids['request_id']}/deny/", {"comment": "Not now\x00"}, content_type="application/json"
    )

    assert response.status_code == 400 and response.json() == refused(NUL)
    assert AccessRequest.objects.get(pk=ids["request_id"]).state == AccessRequest.State.PENDING


# --- UTF-8, nesting, size -----------------------------------------------------------------------


def test_invalid_utf8_in_query_is_400(cast, world):
    response = client_for(cast.alice).get("/catalog/?q=%FF%FE")

    assert response.status_code == 400 and says(response, NOT_UTF8)


def test_invalid_utf8_in_form_is_400(cast, world, unchanged):
    ids, _ = world

    response = client_for(cast.bob).post(
        f"/approvals/{ids['request_id']}/deny/", b"comment=%FF%FE", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400 and says(response, NOT_UTF8)


def test_invalid_utf8_in_json_is_400(cast, world):
    response = client_for(cast.bob).post(
        "/api/approvals/bulk/", b'{"comment": "\xff"}', content_type="application/json"
    )

    assert response.status_code == 400 and response.json() == refused(NOT_UTF8)


def test_deeply_nested_json_is_400_even_anonymous(db):
    depth = 100_000

    response = client_for().post("/api/token/", "[" * depth + "]" * depth, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == refused(TOO_DEEP)


def test_json_deeper_than_the_limit_is_400(cast):
    body = '{"comment": ' + "[" * DEEPEST_JSON + "]" * DEEPEST_JSON + "}"  # one level too many

    response = client_for(cast.bob).post("/api/approvals/bulk/", body, content_type="application/json")

    assert response.status_code == 400 and response.json() == refused(TOO_DEEP)


def test_oversized_body_is_413_before_it_is_read(db):
    body = b'{"email": "' + b"a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'

    api = client_for().post("/api/token/", body, content_type="application/json")
    page = client_for().post(
        reverse("account_login"),
        b"login=" + b"a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        content_type="application/x-www-form-urlencoded",
    )

    assert api.status_code == 413 and api.json() == refused(TOO_BIG)
    assert page.status_code == 413 and says(page, TOO_BIG)


def test_a_form_with_too_many_fields_is_400_in_words(cast, world):
    """Django's own refusal (DATA_UPLOAD_MAX_NUMBER_FIELDS) gets the portal's page and words too."""
    fields = "&".join(f"f{number}=x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = client_for(cast.bob).post("/approvals/bulk/", fields, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400 and says(response, "The form has too many fields.")


def test_content_length_that_is_not_a_number_is_400(cast, world):
    ids, _ = world

    response = client_for(cast.bob).post(
        f"/approvals/{ids['request_id']}/deny/", {"comment": "x"}, CONTENT_LENGTH="ten"
    )

    assert response.status_code == 400 and says(response, "Content-Length")


# --- the admin and redirects --------------------------------------------------------------------


def test_admin_relation_with_a_huge_or_junk_id_is_a_form_error(cast, world, unchanged):
    erin = client_for(cast.erin)
    rule = {"name": "Deployers never approve", "why": "Four eyes", "kind": "entitlements"}
    rule |= {"severity": "high", "enforcement": "block", "enabled": "on"}

    huge = erin.post("/admin/sod/sodrule/add/", rule | {"owner": str(2**64)})
    junk = erin.post("/admin/sod/sodrule/add/", rule | {"owner": str(cast.dave.pk), "set_a": ["²"]})
    shown = erin.get("/admin/sod/sodrule/add/", {"owner": str(10**40), "set_b": "x"})

    assert huge.status_code == 200 and says(huge, TOO_LARGE)
    assert junk.status_code == 200 and says(junk, "Select a valid choice")
    assert shown.status_code == 200


@pytest.mark.parametrize(("row", "words"), [(str(2**64), TOO_LARGE), ("²", NOT_AN_ID), ("abc", NOT_AN_ID)])
def test_admin_action_on_a_row_that_is_not_an_id_is_400(cast, world, row, words, unchanged):
    ticked = [str(world[0]["entitlement_id"]), row]

    response = client_for(cast.erin).post(
        "/admin/catalog/entitlement/", {"action": "delete_selected", "_selected_action": ticked, "post": "yes"}
    )

    assert response.status_code == 400 and says(response, words)


def test_admin_add_page_leaves_out_a_date_that_is_not_one(cast, world):
    erin = client_for(cast.erin)

    junk = erin.get("/admin/reviews/campaign/add/", {"due_at": "tomorrow\r\n"})
    real = erin.get("/admin/reviews/campaign/add/", {"due_at": "2026-12-24 10:00"})

    assert junk.status_code == 200
    assert real.status_code == 200 and says(real, 'value="2026-12-24"')


def test_a_next_that_is_not_a_path_goes_back_to_the_list(cast, world):
    response = client_for(cast.alice).post("/notifications/mark-all-read/", {"next": str(10**40)})

    assert response.status_code == 302
    assert response.url == reverse("notifications:list")
