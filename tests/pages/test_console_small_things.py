"""Small things the governance console got right: plurals, what an automatic approval is called,
absolute dates beside relative ones, the navigation's badges after an inline decision, and menus
shown only to those who use them.

Alice is an engineer (manager Bob); Carol owns Developers; Erin is a governance admin; Frank audits.
"""

from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessRequest
from accounts.roles import menus_of
from catalog.models import ApprovalPolicy, ApprovalStage, Entitlement
from reviews import services as review_services
from reviews.models import Campaign
from tests.reviews.test_campaigns import holds

REASON = "Deploying the billing service for the Q4 release"


def flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def automatic(sandbox):
    """Developers is approved automatically on submission (a policy that says so)."""
    policy = ApprovalPolicy.objects.create(name="Approved automatically", auto_approve=True)
    ApprovalStage.objects.create(policy=policy, order=1, approvers=ApprovalStage.Approvers.MANAGER)
    sandbox.developers.approval_policy = policy
    sandbox.developers.save(update_fields=["approval_policy"])


def test_an_automatic_approval_is_not_said_to_be_sent_for_approval(client_for, cast, sandbox, automatic):
    response = client_for(cast.alice).post(
        reverse("access:request_new", args=[sandbox.developers.pk]), {"justification": REASON}, follow=True
    )

    assert AccessRequest.objects.get().state == AccessRequest.State.APPROVED
    assert flashes(response) == ["Approved automatically, no approver needed: Developers is being granted now."]


def test_a_request_that_waits_is_still_sent_for_approval(client_for, cast, sandbox):
    response = client_for(cast.alice).post(
        reverse("access:request_new", args=[sandbox.developers.pk]), {"justification": REASON}, follow=True
    )

    assert flashes(response) == ["Your request for Developers was sent for approval."]


def test_one_day_is_one_day_on_my_requests_and_the_inbox(client_for, cast, sandbox):
    services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON, duration_days=1)

    mine = client_for(cast.alice).get(reverse("access:my_requests")).content.decode()
    inbox = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    for page in (mine, inbox):
        assert "1 day" in page and "1 days" not in page


def test_my_access_shows_the_end_date_beside_how_soon_it_is(client_for, cast, sandbox):
    grant = holds(cast.alice, sandbox.developers)
    grant.expires_at = timezone.now() + timedelta(days=3)
    grant.save(update_fields=["expires_at"])

    page = client_for(cast.alice).get(reverse("access:my_access")).content.decode()

    assert f"({grant.expires_at.astimezone(UTC):%-d %b %Y %H:%M} UTC)" in page
    assert "from now" in page


def test_the_inbox_and_my_requests_show_absolute_times_beside_relative_ones(client_for, cast, sandbox):
    asked = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    when = f"({asked.created_at.astimezone(UTC):%-d %b %Y %H:%M} UTC)"

    assert when in client_for(cast.bob).get(reverse("access:inbox")).content.decode()
    assert when in client_for(cast.alice).get(reverse("access:my_requests")).content.decode()


def test_an_inline_decision_updates_the_approvals_badge_out_of_band(client_for, cast, sandbox):
    read_only = Entitlement.objects.create(account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low")
    first, _ = (
        services.submit_request(requester=cast.alice, entitlement=entitlement, justification=REASON)
        for entitlement in (sandbox.developers, read_only)
    )
    client = client_for(cast.bob)
    assert 'aria-label="2 waiting">2<' in client.get(reverse("access:inbox")).content.decode()

    response = client.post(reverse("access:approve", args=[first.pk]), headers={"HX-Request": "true"})

    fragment = response.content.decode()
    assert '<span id="nav-approvals-badge" hx-swap-oob="true">' in fragment
    assert 'aria-label="1 waiting">1<' in fragment


# --- who sees which menu ----------------------------------------------------------------------


def menus(client) -> dict[str, bool]:
    page = client.get(reverse("access:catalog")).content.decode()
    return {
        "Approvals": f'href="{reverse("access:inbox")}"' in page,
        "Reviews": f'href="{reverse("reviews:mine")}"' in page,
    }


def test_an_employee_who_decides_nothing_sees_neither_approvals_nor_reviews(client_for, cast, sandbox):
    assert menus(client_for(cast.alice)) == {"Approvals": False, "Reviews": False}
    assert menus(client_for(cast.frank)) == {"Approvals": False, "Reviews": False}  # auditors read, never decide


@pytest.mark.parametrize("who", ["bob", "carol", "erin"])  # a manager, an owner, a governance admin
def test_those_who_can_approve_see_approvals(client_for, cast, sandbox, who):
    assert menus(client_for(getattr(cast, who)))["Approvals"] is True


def test_reviewers_and_campaign_owners_see_reviews(client_for, cast, sandbox):
    holds(cast.alice, sandbox.developers)
    campaign = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    assert menus(client_for(cast.bob))["Reviews"] is False

    review_services.launch(campaign_id=campaign.pk, actor=cast.erin)

    assert menus(client_for(cast.bob))["Reviews"] is True  # Alice's manager reviews her line
    assert menus(client_for(cast.erin))["Reviews"] is True  # she runs the campaign
    assert menus(client_for(cast.alice))["Reviews"] is False


def test_someone_given_an_approval_step_keeps_the_menu_after_deciding_it(client_for, cast, sandbox):
    asked = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    services.approve(request_id=asked.pk, actor=cast.bob)
    cast.bob.reports.update(manager=None)  # Bob is no longer anyone's manager

    assert menus(client_for(cast.bob))["Approvals"] is True


def test_the_menus_are_decided_in_one_query(cast, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert menus_of(cast.bob) == (True, False)
