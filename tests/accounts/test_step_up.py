"""Step-up: high-risk approvals, SoD exceptions and campaign sign-off need a second factor from minutes ago.

Alice asks for Production admins (high risk): Bob, her manager, decides the first stage, Carol (the
owner) the second. A test client signs in as if the person had just entered their code;
`proof_aged` makes that proof older, as the minutes pass in a real session.
"""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access import services
from access.models import AccessRequest, ApprovalAssignment
from catalog.models import Entitlement
from reviews import services as review_services
from reviews.models import Campaign
from sod.models import SodException, SodRule
from tests.conftest import PASSWORD, api_token, own_address, totp_code

REASON = "Rotating the production database credentials"
REAUTHENTICATE = reverse("mfa_reauthenticate")


@pytest.fixture
def production_admins(cast, sandbox):
    entitlement = Entitlement.objects.create(
        account=sandbox.account, aws_name="ProdAdmins", name="Production admins", risk=Entitlement.Risk.HIGH
    )
    entitlement.owners.set([cast.carol])
    return entitlement


@pytest.fixture
def risky(cast, production_admins):
    """Alice's request for Production admins, waiting for Bob."""
    return services.submit_request(requester=cast.alice, entitlement=production_admins, justification=REASON)


@pytest.fixture
def harmless(cast, sandbox):
    """Alice's request for Developers (low risk), waiting for Bob."""
    return services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)


@pytest.fixture
def client(db):
    """Sign-ins come from this run's own address, with no failed attempts counted yet."""
    cache.clear()
    return Client(REMOTE_ADDR=own_address())


def proof_aged(client, seconds: float):
    """Let `seconds` pass since this session last proved its second factor."""
    session = client.session
    records = session["account_authentication_methods"]
    for record in records:
        record["at"] = time.time() - seconds
    session["account_authentication_methods"] = records
    session.save()
    return client


STALE = settings.STEP_UP_SECONDS + 60


def bobs_vote(access_request) -> str:
    return ApprovalAssignment.objects.get(approval__request=access_request, approval__step=1).decision


def flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- approving in the inbox ------------------------------------------------------------------


def test_a_code_entered_minutes_ago_is_enough(client_for, cast, risky):
    client = proof_aged(client_for(cast.bob), settings.STEP_UP_SECONDS - 60)

    response = client.post(reverse("access:approve", args=[risky.pk]), follow=True)

    assert bobs_vote(risky) == "approved"
    assert flashes(response) == [
        "You approved Production admins for Alice Engineer. It now goes to the next approval stage."
    ]


def test_without_a_fresh_code_the_approval_waits_for_one_then_goes_through(client_for, cast, risky):
    client = proof_aged(client_for(cast.bob), STALE)
    url = reverse("access:approve", args=[risky.pk])

    response = client.post(url, {"comment": "Needed for the rotation"})

    assert response.status_code == 302
    assert response.url == f"{REAUTHENTICATE}?next={url.replace('/', '%2F')}"
    assert bobs_vote(risky) == "pending"
    page = client.get(response.url)
    assert flashes(page) == [
        "Approving a high-risk request needs a second factor from the last 15 minutes: enter a code from your "
        "authenticator app (or use your security key)."
    ]

    wrong = client.post(response.url, {"code": "000000"})
    assert wrong.status_code == 200 and bobs_vote(risky) == "pending"
    done = client.post(response.url, {"code": totp_code(cast.bob)}, follow=True)

    assert done.redirect_chain[-1][0] == reverse("access:inbox")
    assert "You approved Production admins for Alice Engineer." in flashes(done)[0]
    vote = ApprovalAssignment.objects.get(approval__request=risky, approval__step=1)
    assert (vote.decision, vote.comment, vote.decided_by) == ("approved", "Needed for the rotation", cast.bob)


def test_a_password_does_not_count_as_the_second_factor(client_for, cast, risky):
    client = proof_aged(client_for(cast.bob), STALE)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    response = client.post(reverse("access:approve", args=[risky.pk]))

    assert response.url.startswith(REAUTHENTICATE)
    assert bobs_vote(risky) == "pending"


def test_low_risk_approvals_and_any_denial_need_no_fresh_code(client_for, cast, risky, harmless):
    client = proof_aged(client_for(cast.bob), STALE)

    client.post(reverse("access:approve", args=[harmless.pk]))
    client.post(reverse("access:deny", args=[risky.pk]), {"comment": "Not this quarter"})

    assert AccessRequest.objects.get(pk=harmless.pk).state == "approved"
    assert AccessRequest.objects.get(pk=risky.pk).state == "denied"


def test_every_stage_of_a_high_risk_request_asks(client_for, cast, risky):
    services.approve(request_id=risky.pk, actor=cast.bob)
    client = proof_aged(client_for(cast.carol), STALE)

    response = client.post(reverse("access:approve", args=[risky.pk]))

    assert response.url.startswith(REAUTHENTICATE)
    assert AccessRequest.objects.get(pk=risky.pk).state == "pending"


def test_inline_htmx_approval_asks_for_the_code_then_completes_the_decision_with_its_comment(client_for, cast, risky):
    client = proof_aged(client_for(cast.bob), STALE)
    approve = reverse("access:approve", args=[risky.pk])

    response = client.post(approve, {"comment": "Checked with the DBA"}, headers={"HX-Request": "true"})

    assert response.status_code == 403
    assert response["HX-Redirect"] == f"{REAUTHENTICATE}?next={approve.replace('/', '%2F')}"
    assert bobs_vote(risky) == "pending"

    back = client.post(response["HX-Redirect"], {"code": totp_code(cast.bob)}, follow=True)

    vote = ApprovalAssignment.objects.get(approval__request=risky, approver=cast.bob)
    assert (vote.decision, vote.comment) == ("approved", "Checked with the DBA")
    assert back.redirect_chain[-1][0] == reverse("access:inbox")
    assert flashes(back)[-1] == (
        f"You approved Production admins for {cast.alice}. It now goes to the next approval stage."
    )


def test_a_bulk_approval_with_one_high_risk_request_waits_for_the_code(client_for, cast, risky, harmless):
    client = proof_aged(client_for(cast.bob), STALE)

    response = client.post(
        reverse("access:bulk_decide"), {"decision": "approve", "request_ids": [harmless.pk, risky.pk]}
    )
    assert response.url.startswith(REAUTHENTICATE)
    assert (bobs_vote(harmless), bobs_vote(risky)) == ("pending", "pending")

    client.post(response.url, {"code": totp_code(cast.bob)})

    assert (bobs_vote(harmless), bobs_vote(risky)) == ("approved", "approved")


def test_someone_who_cannot_decide_is_refused_without_being_asked_for_a_code(client_for, cast, risky):
    client = proof_aged(client_for(cast.dave), STALE)

    response = client.post(reverse("access:approve", args=[risky.pk]), follow=True)

    assert response.status_code == 404
    assert flashes(response) == ["That request does not exist."]


def test_the_inbox_says_which_approvals_ask_for_a_code(client_for, cast, risky, harmless):
    page = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    assert page.count("Approving asks for a code from your authenticator app") == 1


# --- separation-of-duties exceptions ---------------------------------------------------------


@pytest.fixture
def exception_stage(cast, sandbox):
    """Alice holds Create payments and asks for Approve payments: Dave, the rule's owner, decides last."""
    create, approve = (
        Entitlement.objects.create(account=sandbox.account, aws_name=name, name=label, risk="low")
        for name, label in [("PaymentsCreate", "Create payments"), ("PaymentsApprove", "Approve payments")]
    )
    rule = SodRule.objects.create(
        name="Create and approve payments",
        why="one person could pay themselves",
        owner=cast.dave,
        enforcement=SodRule.Enforcement.EXCEPTION,
    )
    rule.set_a.set([create])
    rule.set_b.set([approve])
    held = services.submit_request(requester=cast.alice, entitlement=create, justification=REASON)
    services.approve(request_id=held.pk, actor=cast.bob)
    wanted = services.submit_request(requester=cast.alice, entitlement=approve, justification=REASON)
    services.approve(request_id=wanted.pk, actor=cast.bob)
    return wanted


def test_granting_an_sod_exception_waits_for_a_fresh_code(client_for, cast, exception_stage):
    client = proof_aged(client_for(cast.dave), STALE)
    ends = (timezone.now() + timedelta(days=30)).date().isoformat()
    terms = {"mitigating_control": "Weekly review of payments by Finance", "exception_ends": ends}

    response = client.post(reverse("access:approve", args=[exception_stage.pk]), terms)
    assert response.url.startswith(REAUTHENTICATE)
    assert flashes(client.get(response.url))[0].startswith("Granting a separation-of-duties exception needs")
    assert not SodException.objects.exists()

    client.post(response.url, {"code": totp_code(cast.dave)})

    exception = SodException.objects.get()
    assert (exception.user, exception.approved_by) == (cast.alice, cast.dave)
    assert AccessRequest.objects.get(pk=exception_stage.pk).state == "approved"


# --- signing off a review campaign ----------------------------------------------------------


@pytest.fixture
def campaign(cast, sandbox):
    from access.models import Grant

    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    made = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return review_services.launch(campaign_id=made.pk, actor=cast.erin)


def test_signing_off_a_campaign_waits_for_a_fresh_code(client_for, cast, campaign):
    client = proof_aged(client_for(cast.erin), STALE)

    response = client.post(reverse("reviews:sign_off", args=[campaign.pk]))
    assert response.url.startswith(REAUTHENTICATE)
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.ACTIVE

    done = client.post(response.url, {"code": totp_code(cast.erin)})

    assert done.url == reverse("reviews:campaign", args=[campaign.pk])
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.CLOSED


def test_a_fresh_code_signs_off_at_once(client_for, cast, campaign):
    response = client_for(cast.erin).post(reverse("reviews:sign_off", args=[campaign.pk]))

    assert response.url == reverse("reviews:campaign", args=[campaign.pk])
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.CLOSED


# --- the API ---------------------------------------------------------------------------------


def token_client(person) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token(person)}")
    return api


def test_a_token_cannot_approve_a_high_risk_request_and_is_told_why(cast, risky):
    response = token_client(cast.bob).post(f"/api/requests/{risky.pk}/approve/", {"comment": "ok"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "step_up_required"
    assert response.json()["detail"] == (
        "Approving a high-risk request needs a second factor proven in the last 15 minutes. "
        "An API token cannot carry one: decide this in the portal, which will ask for your code."
    )
    assert bobs_vote(risky) == "pending"


def test_a_token_still_approves_low_risk_requests_and_denies_any(cast, risky, harmless):
    api = token_client(cast.bob)

    assert api.post(f"/api/requests/{harmless.pk}/approve/", format="json").status_code == 200
    assert api.post(f"/api/requests/{risky.pk}/deny/", format="json").status_code == 200


def test_a_browser_session_with_a_fresh_code_approves_through_the_api(client_for, cast, risky):
    response = client_for(cast.bob).post(f"/api/requests/{risky.pk}/approve/", content_type="application/json")

    assert response.status_code == 200
    assert bobs_vote(risky) == "approved"


def test_a_browser_session_with_an_old_code_is_told_where_to_enter_a_new_one(client_for, cast, risky):
    client = proof_aged(client_for(cast.bob), STALE)

    response = client.post(f"/api/requests/{risky.pk}/approve/", content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "step_up_required"
    assert f"Confirm with your authenticator at {REAUTHENTICATE}" in response.json()["detail"]


def test_a_bulk_api_approval_with_a_high_risk_request_decides_nothing(cast, risky, harmless):
    api = token_client(cast.bob)
    body = {"decision": "approve", "request_ids": [harmless.pk, risky.pk]}

    response = api.post("/api/approvals/bulk/", body, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "step_up_required")
    assert (bobs_vote(harmless), bobs_vote(risky)) == ("pending", "pending")
    denied = api.post("/api/approvals/bulk/", {**body, "decision": "deny"}, format="json")
    assert [outcome["ok"] for outcome in denied.json()] == [True, True]


# --- the vote keeps how strongly the decider was known ------------------------------------------


def test_each_vote_records_whether_a_second_factor_was_fresh(client_for, cast, risky, harmless):
    from audit.models import AuditEvent

    client_for(cast.bob).post(reverse("access:approve", args=[risky.pk]))
    proof_aged(client_for(cast.bob), STALE).post(reverse("access:approve", args=[harmless.pk]))

    fresh = ApprovalAssignment.objects.get(approval__request=risky, approval__step=1)
    stale = ApprovalAssignment.objects.get(approval__request=harmless, approval__step=1)
    assert (fresh.decision, fresh.recent_mfa) == ("approved", True)
    assert (stale.decision, stale.recent_mfa) == ("approved", False)
    events = AuditEvent.objects.filter(action="approval.approved").order_by("seq")
    assert [event.after["recent_mfa"] for event in events] == [True, False]


def test_a_vote_cast_with_a_token_never_counts_as_a_fresh_second_factor(cast, risky, harmless):
    token_client(cast.bob).post(f"/api/requests/{harmless.pk}/approve/", format="json")

    assert ApprovalAssignment.objects.get(approval__request=harmless, approval__step=1).recent_mfa is False
