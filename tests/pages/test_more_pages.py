"""Cart, catalog filters, entitlement detail, inbox (inline and bulk), timeline, extend and give back."""

import pytest
from django.test import Client
from django.urls import reverse

from access import services
from access.models import AccessRequest, Grant
from catalog.models import Entitlement

GOOD_REASON = "Deploying the billing service for the Q4 release"


def flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def readonly(cast, sandbox):
    entitlement = Entitlement.objects.create(
        account=sandbox.account,
        aws_name="ReadOnly",
        name="Read-only",
        risk=Entitlement.Risk.MEDIUM,
        max_duration_days=30,
        description="Look but do not touch",
    )
    entitlement.owners.set([cast.carol])
    return entitlement


def test_cart_checkout_sends_one_request_per_item(client_for, cast, sandbox, readonly):
    client = client_for(cast.alice)
    client.post(reverse("access:cart_add", args=[sandbox.developers.pk]), {"next": "/catalog/"})
    client.post(reverse("access:cart_add", args=[readonly.pk]), {"next": "https://evil.example.com/"})
    checkout = client.get(reverse("access:checkout"))
    assert checkout.context["nav_cart_size"] == 2
    assert "Manager:" in checkout.content.decode() and "Entitlement owner:" in checkout.content.decode()

    response = client.post(
        reverse("access:checkout"),
        {"justification": GOOD_REASON, f"duration_{readonly.pk}": "14", f"duration_{sandbox.developers.pk}": ""},
        follow=True,
    )

    assert flashes(response) == ["2 requests sent for approval: Developers, Read-only."]
    assert sorted(AccessRequest.objects.values_list("entitlement__name", "duration_days")) == [
        ("Developers", None),
        ("Read-only", 14),
    ]
    assert client.get(reverse("access:checkout")).context["nav_cart_size"] == 0


def test_cart_redirects_only_to_this_site(client_for, cast, sandbox):
    response = client_for(cast.alice).post(
        reverse("access:cart_add", args=[sandbox.developers.pk]), {"next": "https://evil.example.com/"}
    )

    assert response.url == reverse("access:catalog")


def test_checkout_with_a_duration_above_the_maximum_changes_nothing(client_for, cast, readonly):
    client = client_for(cast.alice)
    client.post(reverse("access:cart_add", args=[readonly.pk]))

    response = client.post(reverse("access:checkout"), {"justification": GOOD_REASON, f"duration_{readonly.pk}": "90"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_empty_cart_checkout_says_so(client_for, cast):
    response = client_for(cast.alice).post(reverse("access:checkout"), {"justification": GOOD_REASON})

    assert response.status_code == 400
    assert "Your request is empty" in response.content.decode()


def test_manager_requests_for_a_report_from_the_form(client_for, cast, sandbox):
    client = client_for(cast.bob)
    form = client.get(reverse("access:request_new", args=[sandbox.developers.pk])).content.decode()
    assert "Alice Engineer (alice@example.com)" in form

    client.post(
        reverse("access:request_new", args=[sandbox.developers.pk]),
        {"justification": GOOD_REASON, "beneficiary": cast.alice.pk},
    )

    assert AccessRequest.objects.get().beneficiary == cast.alice


def test_employee_cannot_pick_someone_else_as_beneficiary(client_for, cast, sandbox):
    response = client_for(cast.alice).post(
        reverse("access:request_new", args=[sandbox.developers.pk]),
        {"justification": GOOD_REASON, "beneficiary": cast.dave.pk},
    )

    assert response.status_code == 400
    assert not AccessRequest.objects.exists()


def test_admin_requests_for_anyone_by_email(client_for, cast, sandbox):
    client = client_for(cast.erin)
    bad = client.post(
        reverse("access:request_new", args=[sandbox.developers.pk]),
        {"justification": GOOD_REASON, "beneficiary": "nobody@example.com"},
    )
    assert "Nobody active in the portal has that email address." in bad.content.decode()

    client.post(
        reverse("access:request_new", args=[sandbox.developers.pk]),
        {"justification": GOOD_REASON, "beneficiary": "dave@example.com"},
    )

    assert AccessRequest.objects.get().beneficiary == cast.dave


def test_catalog_filters_and_live_search(client_for, cast, sandbox, readonly):
    client = client_for(cast.alice)

    by_risk = client.get(reverse("access:catalog"), {"risk": "medium"}).content.decode()
    live = client.get(reverse("access:catalog"), {"q": "touch"}, headers={"HX-Request": "true"}).content.decode()

    assert "Read-only" in by_risk and "Developers" not in by_risk
    assert live.startswith('<div class="table-responsive"') and "Read-only" in live and "<html" not in live


def test_entitlement_detail_shows_the_chain_and_holders_only_to_owners(client_for, cast, sandbox, readonly):
    Grant.objects.create(user=cast.dave, entitlement=readonly, source=Grant.Source.ADMIN)

    as_alice = client_for(cast.alice).get(reverse("access:entitlement", args=[readonly.pk]))
    assert "Bob Manager" in as_alice.content.decode() and as_alice.context["holders"] is None
    as_carol = client_for(cast.carol).get(reverse("access:entitlement", args=[readonly.pk]))
    assert "Dave Othermanager" in as_carol.content.decode()


def test_inline_decision_answers_with_a_fragment(client_for, cast, sandbox):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    client = client_for(cast.bob)

    done = client.post(reverse("access:approve", args=[access_request.pk]), headers={"HX-Request": "true"})
    again = client.post(reverse("access:deny", args=[access_request.pk]), headers={"HX-Request": "true"})

    assert done.status_code == 200 and "You approved Developers for Alice Engineer." in done.content.decode()
    assert again.status_code == 409 and "your decision was not recorded" in again.content.decode()
    assert "<html" not in again.content.decode()


def test_bulk_decision_from_the_inbox(client_for, cast, sandbox, readonly):
    first = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)
    second = services.submit_request(
        requester=cast.alice, entitlement=readonly, justification=GOOD_REASON, duration_days=7
    )
    client = client_for(cast.bob)

    response = client.post(
        reverse("access:bulk_decide"),
        {"decision": "deny", "request_ids": [first.pk, second.pk], "comment": "not now"},
        follow=True,
    )

    assert flashes(response) == ["Denied 2: Developers for Alice Engineer; Read-only for Alice Engineer."]
    assert set(AccessRequest.objects.values_list("state", flat=True)) == {"denied"}
    assert client.post(reverse("access:bulk_decide"), {"decision": "approve"}).status_code == 400


def test_my_requests_shows_the_timeline_and_cancels(client_for, cast, sandbox):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    client = client_for(cast.alice)
    page = client.get(reverse("access:my_requests")).content.decode()
    assert "Submitted by Alice Engineer" in page and "Waiting for manager: Bob Manager" in page

    client.post(reverse("access:cancel", args=[access_request.pk]))
    page = client.get(reverse("access:my_requests")).content.decode()

    assert "Cancelled by Alice Engineer" in page
    outsider = Client()
    outsider.force_login(cast.dave)
    assert outsider.post(reverse("access:cancel", args=[access_request.pk])).status_code == 404


def test_extend_and_give_back_from_my_access(client_for, cast, readonly):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=readonly, justification=GOOD_REASON, duration_days=7
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    services.approve(request_id=access_request.pk, actor=cast.carol)
    grant = Grant.objects.get()
    work = services.claim_grant_for_sync(grant.pk)
    services.record_sync_success(work, evidence="read back")
    client = client_for(cast.alice)
    assert "Extend" in client.get(reverse("access:my_access")).content.decode()

    client.post(reverse("access:extend", args=[grant.pk]), {"duration_days": "7", "justification": GOOD_REASON})
    assert AccessRequest.objects.filter(kind="extension", state="pending").count() == 1
    assert "Extension pending" in client.get(reverse("access:my_access")).content.decode()
    outsider = Client()
    outsider.force_login(cast.dave)
    assert outsider.get(reverse("access:extend", args=[grant.pk])).status_code == 404
    assert outsider.post(reverse("access:give_back", args=[grant.pk])).status_code == 404

    response = client.post(reverse("access:give_back", args=[grant.pk]), follow=True)

    assert flashes(response) == ["Read-only is being removed from your AWS access."]
    grant.refresh_from_db()
    assert grant.desired == Grant.Desired.ABSENT


def test_inbox_shows_what_the_beneficiary_already_holds(client_for, cast, sandbox, readonly):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    services.submit_request(requester=cast.alice, entitlement=readonly, justification=GOOD_REASON, duration_days=7)

    row = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    assert "Holds 1 entitlement</summary>" in row
    assert "<li>Developers <span" in row
    assert "Stage 1 of 2: manager" in row and "7 days" in row
