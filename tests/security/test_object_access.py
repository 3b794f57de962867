"""Sweeps over every URL of the authorization table, and acting on other people's objects.

Each state change refuses a GET and a POST without a CSRF token, and changes nothing; every URL with
an id answers 404 for an id that does not exist, whoever asks; nobody acts on another person's
request, grant or review line.
"""

import pytest
from django.test import Client
from django.urls import reverse

from access import services
from access.models import AccessRequest, Grant
from audit.models import AuditEvent
from reviews.models import ReviewItem
from tests.security.test_authorization_matrix import EXPECTED, patterns, url_for

MISSING_ID = 987654


def post_only_urls(ids, by_name):
    """(name, url) of every state change a governance admin may make: a GET on it is 405 for them."""
    for name, pattern in patterns():
        if name in EXPECTED and EXPECTED[name][-1] == 405 and name != "api:token":
            yield name, url_for(name, pattern, ids, by_name)


def test_every_state_change_refuses_a_post_without_a_csrf_token(cast, world):
    ids, by_name = world
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cast.erin)
    events_before = AuditEvent.objects.count()

    answers = {name: browser.post(url).status_code for name, url in post_only_urls(ids, by_name)}

    assert len(answers) >= 25, "the sweep covers the pages' and the API's state changes"
    assert {name: status for name, status in answers.items() if status != 403} == {}
    assert AuditEvent.objects.count() == events_before


def test_every_state_change_refuses_a_get_and_changes_nothing(cast, world):
    ids, by_name = world
    client = Client()
    client.force_login(cast.erin)
    events_before = AuditEvent.objects.count()

    answers = {name: client.get(url).status_code for name, url in post_only_urls(ids, by_name)}

    assert len(answers) >= 25
    assert {name: status for name, status in answers.items() if status != 405} == {}
    assert AuditEvent.objects.count() == events_before


def with_missing_id(name: str, pattern: str, ids: dict, by_name: dict) -> str | None:
    """The URL with every id replaced by one that does not exist; None for URLs without an id."""
    if name in by_name:
        return reverse(name, kwargs={"pk": MISSING_ID})
    kwargs = {key: MISSING_ID for key in ids if f"<int:{key}>" in pattern or f"<id:{key}>" in pattern}
    return reverse(name, kwargs=kwargs) if kwargs else None


# What the state changes need besides the id, so that the id is the only thing wrong.
BODIES = {"api:grant-extend": {"duration_days": 7, "justification": "Still deploying the billing service"}}
# Removing an id from one's own cart (kept in the session) looks nothing up: an unknown id is a no-op.
NO_LOOKUP = {"access:cart_remove"}
COLUMN = {"alice": 1, "frank": 4, "erin": 5}


@pytest.mark.parametrize("who", ["alice", "frank", "erin"])
def test_every_url_with_an_unknown_id_is_not_found(cast, world, who):
    """Every page this person may open and every state change, each with an id that does not exist.

    A state change the person may not make at all is refused (403) whatever the id: then the same
    POST with a real id must be refused too, or the answer would tell which ids exist.
    """
    ids, by_name = world
    client = Client()
    client.force_login(getattr(cast, who))
    events_before = AuditEvent.objects.count()
    answers = {}
    for name, pattern in patterns():
        url = with_missing_id(name, pattern, ids, by_name) if name in EXPECTED else None
        if url is None or name in NO_LOOKUP:
            continue
        expected_on_get = EXPECTED[name][COLUMN[who]]
        if expected_on_get == 200:
            answers[name] = client.get(url).status_code
        elif expected_on_get == 405:
            answers[name] = client.post(url, BODIES.get(name, {})).status_code
            if answers[name] == 403:
                real = client.post(url_for(name, pattern, ids, by_name), BODIES.get(name, {})).status_code
                answers[name] = "refused whatever the id" if real == 403 else f"403, but {real} for a real id"

    assert len(answers) >= {"alice": 25, "frank": 25, "erin": 35}[who]
    assert {name: answer for name, answer in answers.items() if answer not in (404, "refused whatever the id")} == {}
    assert AuditEvent.objects.count() == events_before


@pytest.fixture
def alices_things(cast, sandbox):
    """Alice's pending request, and a time-bound grant she holds (applied in AWS)."""
    readonly = sandbox.developers.__class__.objects.create(
        account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low", max_duration_days=30
    )
    readonly.owners.set([cast.carol])
    held = services.submit_request(
        requester=cast.alice, entitlement=readonly, justification="Reading the billing dashboards", duration_days=7
    )
    services.approve(request_id=held.pk, actor=cast.bob)
    grant = Grant.objects.get(user=cast.alice, entitlement=readonly)
    services.record_sync_success(services.claim_grant_for_sync(grant.pk), evidence="read back")
    pending = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification="Deploying the billing service"
    )
    return pending, Grant.objects.get(pk=grant.pk)


@pytest.mark.parametrize("who", ["dave", "carol", "frank"])
def test_nobody_cancels_gives_back_or_extends_alices_access(client_for, cast, alices_things, who):
    pending, grant = alices_things
    client = client_for(getattr(cast, who))
    events_before = AuditEvent.objects.count()

    answers = {
        "cancel": client.post(reverse("access:cancel", args=[pending.pk])).status_code,
        "give back": client.post(reverse("access:give_back", args=[grant.pk])).status_code,
        "extend": client.post(
            reverse("access:extend", args=[grant.pk]), {"justification": "More time please", "duration_days": 7}
        ).status_code,
    }

    assert answers == {"cancel": 404, "give back": 404, "extend": 404}
    assert AccessRequest.objects.get(pk=pending.pk).state == AccessRequest.State.PENDING
    assert Grant.objects.get(pk=grant.pk).desired == Grant.Desired.PRESENT
    assert AuditEvent.objects.count() == events_before


def test_nobody_decides_a_review_line_about_their_own_access(client_for, cast, world):
    """The fixture's campaign sends Alice's line (Read-only, owned by Carol) to Carol; Alice tries it herself."""
    ids, _ = world
    line = ReviewItem.objects.get(campaign_id=ids["campaign_id"], holder=cast.alice)
    assert line.reviewer != cast.alice

    response = client_for(cast.alice).post(
        reverse("reviews:decide", args=[ids["campaign_id"]]), {"items": [line.pk], "decision": "keep"}
    )

    assert response.status_code == 404
    line.refresh_from_db()
    assert line.decision == ReviewItem.Decision.UNDECIDED


def test_other_peoples_objects_are_404_like_missing_ones(cast, world):
    """Dave manages another team: Alice's request, and a campaign he neither owns nor reviews in, answer
    him exactly as ids nobody has, on the pages and in the API. 403 stays for what a person may see
    but not do: Carol reviews in the campaign, so its owner's page and sign-off refuse her with 403."""
    from rest_framework.test import APIClient

    ids, _ = world
    request_id, campaign_id, item_id = ids["request_id"], ids["campaign_id"], ids["item_id"]
    page = Client()
    page.force_login(cast.dave)
    api = APIClient()
    api.force_authenticate(cast.dave)
    events_before = AuditEvent.objects.count()

    def pages(request_id, campaign_id, item_id):
        return {
            "approve": page.post(reverse("access:approve", args=[request_id])).status_code,
            "deny": page.post(reverse("access:deny", args=[request_id]), {"comment": "No"}).status_code,
            "campaign": page.get(reverse("reviews:campaign", args=[campaign_id])).status_code,
            "evidence": page.get(reverse("reviews:evidence", args=[campaign_id])).status_code,
            "evidence pdf": page.get(reverse("reviews:evidence_pdf", args=[campaign_id])).status_code,
            "launch": page.post(reverse("reviews:launch", args=[campaign_id])).status_code,
            "sign off": page.post(reverse("reviews:sign_off", args=[campaign_id])).status_code,
            "reassign": page.post(
                reverse("reviews:reassign", args=[item_id]), {"to": "dave@example.com", "reason": "mine now"}
            ).status_code,
        }

    def api_calls(request_id, person_id):
        asked = api.post(
            reverse("api:request-list"),
            {"entitlement": ids["entitlement_id"], "justification": "For my team's deploys", "beneficiary": person_id},
            format="json",
        )
        return {
            "detail": api.get(reverse("api:request-detail", args=[request_id])).status_code,
            "approve": api.post(reverse("api:request-approve", args=[request_id]), {}, format="json").status_code,
            "deny": api.post(reverse("api:request-deny", args=[request_id]), {}, format="json").status_code,
            "ask for someone": (asked.status_code, list(asked.json()["errors"])),
        }

    others = pages(request_id, campaign_id, item_id), api_calls(request_id, cast.alice.pk)
    missing = pages(MISSING_ID, MISSING_ID, MISSING_ID), api_calls(MISSING_ID, MISSING_ID)

    assert others == missing
    assert set(others[0].values()) == {404}
    assert others[1] == {"detail": 404, "approve": 404, "deny": 404, "ask for someone": (400, ["beneficiary"])}
    assert AccessRequest.objects.get(pk=request_id).state == AccessRequest.State.PENDING
    assert AuditEvent.objects.count() == events_before
    reviewer = Client()
    reviewer.force_login(cast.carol)
    assert reviewer.get(reverse("reviews:campaign", args=[campaign_id])).status_code == 403
    assert reviewer.post(reverse("reviews:sign_off", args=[campaign_id])).status_code == 403
