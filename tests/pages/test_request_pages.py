"""The request and approval pages, through the Django test client (no browser, no API)."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessRequest, Grant
from audit.models import AuditEvent
from catalog.models import Entitlement

GOOD_REASON = "Deploying the billing service for the Q4 release"


def flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def alices_request(cast, sandbox):
    return services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)


@pytest.mark.parametrize(
    "url",
    ["/", "/catalog/", "/catalog/1/request/", "/requests/", "/access/", "/approvals/", "/approvals/1/approve/"],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_sign_in_with_email_and_password(client, cast):
    response = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": "correct-horse-battery-staple"}
    )

    assert response.status_code == 302
    assert client.get("/").context["user"] == cast.alice


def test_wrong_password_says_so(client, cast):
    response = client.post(reverse("account_login"), {"login": "alice@example.com", "password": "nope"})

    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_employee_requests_from_the_catalog(client_for, cast, sandbox):
    client = client_for(cast.alice)
    catalog = client.get(reverse("access:catalog"))
    assert "Developers" in catalog.content.decode()
    assert "Break-glass admins" not in catalog.content.decode(), "not requestable, so not listed"

    response = client.post(
        reverse("access:request_new", args=[sandbox.developers.pk]), {"justification": GOOD_REASON}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("access:my_requests")
    assert flashes(response) == ["Your request for Developers was sent for approval."]
    assert "Pending" in response.content.decode()
    assert AccessRequest.objects.get().requester == cast.alice


def test_empty_justification_shows_the_error_and_creates_nothing(client_for, cast, sandbox):
    response = client_for(cast.alice).post(
        reverse("access:request_new", args=[sandbox.developers.pk]), {"justification": "  "}
    )

    assert response.status_code == 400
    assert "Explain why you need this access." in response.content.decode()
    assert 'aria-describedby="id_justification_helptext id_justification_error"' in response.content.decode()
    assert 'id="id_justification_error"' in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_non_requestable_entitlement_shows_why(client_for, cast, sandbox):
    response = client_for(cast.alice).post(
        reverse("access:request_new", args=[sandbox.breakglass.pk]), {"justification": GOOD_REASON}
    )

    assert response.status_code == 400
    assert "Break-glass admins cannot be requested" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_duplicate_request_is_a_conflict(client_for, cast, sandbox, alices_request):
    response = client_for(cast.alice).post(
        reverse("access:request_new", args=[sandbox.developers.pk]), {"justification": GOOD_REASON}
    )

    assert response.status_code == 409
    assert "already have a pending request" in response.content.decode()


def test_requesting_an_unknown_entitlement_is_not_found(client_for, cast, sandbox):
    response = client_for(cast.alice).get(reverse("access:request_new", args=[9999]))

    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


def test_manager_sees_and_approves_in_the_inbox(client_for, cast, alices_request):
    client = client_for(cast.bob)
    inbox = client.get(reverse("access:inbox"))
    assert GOOD_REASON in inbox.content.decode()
    assert inbox.context["nav_approvals_waiting"] == 1

    response = client.post(reverse("access:approve", args=[alices_request.pk]), {"comment": "ok"}, follow=True)

    assert flashes(response) == ["You approved Developers for Alice Engineer."]
    assert "Nothing is waiting for you." in response.content.decode()
    assert Grant.objects.get().user == cast.alice


def test_manager_denies_with_a_comment(client_for, cast, alices_request):
    response = client_for(cast.bob).post(
        reverse("access:deny", args=[alices_request.pk]), {"comment": "use ReadOnly"}, follow=True
    )

    assert flashes(response) == ["You denied Developers for Alice Engineer."]
    alices_request.refresh_from_db()
    assert alices_request.state == AccessRequest.State.DENIED


def test_other_teams_manager_is_refused_and_nothing_changes(client_for, cast, alices_request):
    events = AuditEvent.objects.count()

    response = client_for(cast.dave).post(reverse("access:approve", args=[alices_request.pk]))

    assert response.status_code == 404
    assert flashes(response) == ["That request does not exist."]
    assert AccessRequest.objects.get().state == AccessRequest.State.PENDING
    assert AuditEvent.objects.count() == events
    assert GOOD_REASON not in client_for(cast.dave).get(reverse("access:inbox")).content.decode()


def test_beneficiary_cannot_approve_own_request_page(client_for, cast, alices_request):
    response = client_for(cast.alice).post(reverse("access:approve", args=[alices_request.pk]))

    assert response.status_code == 403
    assert flashes(response) == ["You cannot decide a request for your own access."]
    assert not Grant.objects.exists()


def test_deciding_twice_is_a_conflict(client_for, cast, alices_request):
    client = client_for(cast.bob)
    client.post(reverse("access:approve", args=[alices_request.pk]), follow=True)

    response = client.post(reverse("access:deny", args=[alices_request.pk]))

    assert response.status_code == 409
    assert "already approved; your decision was not recorded" in flashes(response)[0]
    assert AccessRequest.objects.get().state == AccessRequest.State.APPROVED


def test_tampered_request_id_is_not_found(client_for, cast, alices_request):
    response = client_for(cast.bob).post(reverse("access:approve", args=[alices_request.pk + 999]))

    assert response.status_code == 404


def test_approving_by_get_is_refused(client_for, cast, alices_request):
    response = client_for(cast.bob).get(reverse("access:approve", args=[alices_request.pk]))

    assert response.status_code == 405
    assert AccessRequest.objects.get().state == AccessRequest.State.PENDING


def test_approving_without_csrf_token_is_refused(cast, alices_request):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)

    response = client.post(reverse("access:approve", args=[alices_request.pk]))

    assert response.status_code == 403
    assert AccessRequest.objects.get().state == AccessRequest.State.PENDING


def test_my_access_shows_sync_state_and_polls_while_pending(client_for, cast, alices_request):
    services.approve(request_id=alices_request.pk, actor=cast.bob)
    client = client_for(cast.alice)

    page = client.get(reverse("access:my_access"))
    partial = client.get(reverse("access:my_access"), headers={"HX-Request": "true"})

    assert "Being applied" in page.content.decode()
    assert 'hx-trigger="every 2s"' in page.content.decode()
    assert partial.content.decode().lstrip().startswith('<div id="access-table"')
    Grant.objects.update(sync_state=Grant.SyncState.FAILED, last_error="AWS refused (AccessDenied): no")
    failed = client.get(reverse("access:my_access")).content.decode()
    assert "AWS refused (AccessDenied): no" in failed and "every 2s" not in failed


def test_home_counts_what_needs_me(client_for, cast, alices_request):
    bobs = client_for(cast.bob).get("/")
    assert bobs.context["nav_approvals_waiting"] == 1
    assert '<div class="display-6" data-testid="approvals-waiting">1</div>' in bobs.content.decode()
    home = client_for(cast.alice).get("/")
    assert (home.context["nav_approvals_waiting"], home.context["my_pending"]) == (0, 1)
    assert home.context["failed_syncs"] is None, "only admins see sync failures"


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def fill(cast, sandbox, rows: int) -> None:
    """`rows` more entitlements, each requested by Alice (pending with Bob) and each held by her."""
    start = Entitlement.objects.count()
    entitlements = Entitlement.objects.bulk_create(
        Entitlement(account=sandbox.account, aws_name=f"Team{n}", name=f"Team {n}") for n in range(start, start + rows)
    )
    for entitlement in entitlements:
        entitlement.owners.set([cast.carol])
    services.submit_cart(
        requester=cast.alice,
        beneficiary=cast.alice,
        justification=GOOD_REASON,
        items=[services.CartItem(entitlement) for entitlement in entitlements],
    )
    Grant.objects.bulk_create(
        Grant(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN) for entitlement in entitlements
    )


@pytest.mark.parametrize(
    ("person", "url"),
    [("alice", "/catalog/"), ("alice", "/requests/"), ("alice", "/access/"), ("bob", "/approvals/"), ("bob", "/")],
)
def test_pages_run_the_same_number_of_queries_for_10_and_200_rows(client_for, cast, sandbox, person, url):
    client = client_for(getattr(cast, person))
    fill(cast, sandbox, 10)
    with_ten = count_queries(client, url)
    fill(cast, sandbox, 190)

    assert count_queries(client, url) == with_ten


def test_my_requests_shows_each_moment_in_words_and_exactly(client_for, cast, alices_request):
    submitted = AuditEvent.objects.get(action="request.submitted", object_id=str(alices_request.pk)).created_at
    local = timezone.localtime(submitted)
    page = client_for(cast.alice).get(reverse("access:my_requests")).content.decode()

    assert re.search(rf'<time datetime="{re.escape(local.isoformat())}">(now|\d+\sseconds?\sago)</time>', page)
    assert f'data-testid="absolute-time">({local:%-d %b %Y %H:%M} {local.tzname()})</span>' in page


def test_the_inbox_shows_what_the_person_holds_now(client_for, cast, sandbox, alices_request):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.breakglass, source=Grant.Source.ADMIN)
    Grant.objects.create(user=cast.bob, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    page = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    assert "<summary>Holds 1 entitlement</summary>" in page
    assert '<li>Break-glass admins <span class="text-body-secondary">(Sandbox)</span></li>' in page


def test_the_inbox_shows_a_votes_unusual_reason_and_not_the_routine_ones(client_for, cast, alices_request):
    stage = alices_request.approvals.get(state="pending")
    stage.assignments.create(approver=cast.carol, reason="Escalated: not decided within 48 hours")
    row = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    assert row.count('<div class="small text-warning-emphasis">Escalated: not decided within 48 hours</div>') == 1
    assert "Manager of Alice Engineer" not in row
    assert f'formaction="/approvals/{alices_request.pk}/approve/"' in row
    assert "<summary>Holds 0 entitlements</summary>" in row and "<li>nothing yet</li>" in row


def test_a_timeline_line_shows_the_justification_as_text(client_for, cast, sandbox):
    services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=f"{GOOD_REASON} <b>now</b> & then"
    )
    page = client_for(cast.alice).get(reverse("access:my_requests")).content.decode()

    assert "— Submitted by Alice Engineer<span" in page
    assert f"{GOOD_REASON} &lt;b&gt;now&lt;/b&gt; &amp; then</span></li>" in page


def test_the_inbox_writes_every_text_people_typed_as_text(client_for, cast, sandbox):
    """The inbox's rows are written in Python (access/templatetags/inbox.py): a name, title, department,
    entitlement, account and justification carrying markup reach Bob as text, never as markup."""
    hostile = {
        "full_name": "Alice <script>alert(1)</script>",
        "title": "<img src=x onerror=alert(2)>",
        "department": '"><svg onload=alert(3)>',
    }
    for field, value in hostile.items():
        setattr(cast.alice, field, value)
    cast.alice.save(update_fields=list(hostile))
    sandbox.developers.name = "Developers <b>bold</b>"
    sandbox.developers.save(update_fields=["name"])
    sandbox.account.name = "Sandbox & <i>co</i>"
    sandbox.account.save(update_fields=["name"])
    services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=f"{GOOD_REASON} <u>now</u> & then"
    )

    page = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    for raw in (*hostile.values(), "<b>bold</b>", "<i>co</i>", "<u>now</u>"):
        assert raw not in page, raw
    assert "Alice &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&quot;&gt;&lt;svg onload=alert(3)&gt;" in page
    assert "Developers &lt;b&gt;bold&lt;/b&gt;" in page and "Sandbox &amp; &lt;i&gt;co&lt;/i&gt;" in page
    assert f"{GOOD_REASON} &lt;u&gt;now&lt;/u&gt; &amp; then" in page
