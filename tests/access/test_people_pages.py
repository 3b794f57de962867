"""Governance → People: governance admins see everyone and mark leavers through the one leaver service;
auditors read; everyone else is refused. Every page runs the same queries for 1 person or 30."""

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import people_selectors, services
from access.models import AccessRequest, Grant, LeaverStep
from access.views import people as people_views
from accounts.models import ApiToken, User
from accounts.tokens import issue_token
from audit.models import AuditEvent
from catalog.models import Entitlement
from tests.conftest import tasks_queued

GOOD_REASON = "Deploying the billing service for the Q4 release"
PEOPLE = reverse("access:people")


def person_url(person) -> str:
    return reverse("access:person", args=[person.pk])


def leaver_url(person) -> str:
    return reverse("access:leaver", args=[person.pk])


def signed_in(person) -> Client:
    """A browser of the person's own (the `client_for` fixture shares one client between people)."""
    client = Client()
    client.force_login(person)
    return client


def listed(response) -> list[str]:
    return [person.email for person, _roles in response.context["rows"]]


def confirm(client, person, **extra):
    """Tick the box on the confirmation as it is shown now, and send it."""
    fingerprint = client.get(leaver_url(person)).context["preview"].fingerprint
    return client.post(leaver_url(person), {"understood": "on", "fingerprint": fingerprint, **extra})


@pytest.fixture
def alice_holds(cast, sandbox):
    """Alice holds Developers and Read-only (approved by Bob), waits for Deployers, and has an API token."""
    readonly = Entitlement.objects.create(account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low")
    readonly.owners.set([cast.carol])
    for entitlement in (sandbox.developers, readonly):
        held = services.submit_request(requester=cast.alice, entitlement=entitlement, justification=GOOD_REASON)
        services.approve(request_id=held.pk, actor=cast.bob)
    deployers = Entitlement.objects.create(account=sandbox.account, aws_name="Deployers", name="Deployers")
    deployers.owners.set([cast.carol])
    services.submit_request(requester=cast.alice, entitlement=deployers, justification=GOOD_REASON)
    issue_token(person=cast.alice, name="build laptop", second_factor=False)
    return Grant.objects.filter(user=cast.alice)


# --- who may see what ------------------------------------------------------------------------------


def test_a_governance_admin_sees_everyone_with_manager_roles_grants_and_state(cast, alice_holds):
    response = signed_in(cast.erin).get(PEOPLE)

    assert response.status_code == 200
    rows = {person.email: (person, roles) for person, roles in response.context["rows"]}
    assert set(rows) == {person.email for person in User.objects.all()}
    alice, alice_roles = rows["alice@example.com"]
    assert (alice.manager, alice.active_grants, alice_roles) == (cast.bob, 2, [])
    assert rows["erin@example.com"][1] == ["Governance admin", "Owner"]
    assert rows["frank@example.com"][1] == ["Auditor"]
    assert rows["bob@example.com"][1] == ["Manager", "Approver"]
    assert rows["carol@example.com"][1] == ["Owner", "Approver"]
    page = response.content.decode()
    assert 'text-bg-secondary">Leaver' not in page and 'data-testid="person-alice@example.com"' in page


def test_an_auditor_reads_people_and_a_person_but_cannot_mark_a_leaver(cast, alice_holds):
    frank = signed_in(cast.frank)

    assert frank.get(PEOPLE).status_code == 200
    page = frank.get(person_url(cast.alice))
    assert page.status_code == 200 and "Mark as leaver" not in page.content.decode()
    assert frank.get(leaver_url(cast.alice)).status_code == 403
    assert frank.post(leaver_url(cast.alice), {"understood": "on", "fingerprint": "0" * 64}).status_code == 403
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_people_who_read_nothing_get_403(cast, alice_holds, who):
    client = signed_in(getattr(cast, who))
    grant = alice_holds.first()

    answers = [
        client.get(PEOPLE).status_code,
        client.get(person_url(cast.alice)).status_code,
        client.get(leaver_url(cast.dave)).status_code,
        client.post(leaver_url(cast.dave), {"understood": "on", "fingerprint": "0" * 64}).status_code,
        client.post(reverse("access:retry_removal", args=[cast.alice.pk, grant.pk])).status_code,
    ]

    assert answers == [403, 403, 403, 403, 403]
    cast.dave.refresh_from_db()
    assert not cast.dave.is_leaver


def test_an_unknown_person_is_404(cast):
    erin = signed_in(cast.erin)

    assert erin.get(reverse("access:person", args=[987654])).status_code == 404
    assert erin.get(reverse("access:leaver", args=[987654])).status_code == 404


# --- finding people --------------------------------------------------------------------------------


def test_search_by_name_or_email_and_filter_by_department_role_and_state(cast, alice_holds):
    erin = signed_in(cast.erin)

    assert listed(erin.get(PEOPLE, {"q": "alice"})) == ["alice@example.com"]
    assert listed(erin.get(PEOPLE, {"q": "  Othermanager "})) == ["dave@example.com"]
    assert listed(erin.get(PEOPLE, {"department": "Finance"})) == ["dave@example.com", "frank@example.com"]
    assert listed(erin.get(PEOPLE, {"role": "auditor"})) == ["frank@example.com"]
    assert listed(erin.get(PEOPLE, {"role": "manager", "department": "Engineering"})) == ["bob@example.com"]
    assert listed(erin.get(PEOPLE, {"status": "leaver"})) == []
    # The filter stays in the page links and the form.
    assert 'value="alice"' in erin.get(PEOPLE, {"q": "alice"}).content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"department": "Nowhere"},
        {"role": "superuser"},
        {"status": "retired"},
        {"q": "a" * 101},
    ],
)
def test_a_search_that_cannot_be_read_lists_nobody_and_says_why(cast, query):
    response = signed_in(cast.erin).get(PEOPLE, query)

    assert response.status_code == 400
    assert listed(response) == []
    assert 'data-testid="filter-errors"' in response.content.decode()


def test_one_or_two_letters_find_the_start_of_a_name_or_an_address_and_three_find_any_part(cast):
    erin = signed_in(cast.erin)

    assert "alice@example.com" in listed(erin.get(PEOPLE, {"q": "al"}))  # Alice, by her name and her address
    assert "bob@example.com" in listed(erin.get(PEOPLE, {"q": "b"}))
    assert listed(erin.get(PEOPLE, {"q": "li"})) == []  # inside "Alice": too short to mean anywhere
    assert listed(erin.get(PEOPLE, {"q": "lic"})) == ["alice@example.com"]


@pytest.mark.postgres
def test_a_two_letter_search_reads_the_prefix_indexes_not_everyone(cast):
    """With the planner told not to read the table whole, the search's plan names both prefix indexes:
    they exist (migration accounts 0008) and match the expression Django writes for `istartswith`."""
    from access.filters import PeopleFilter

    found = PeopleFilter({"q": "zq"}, queryset=User.objects.all()).qs.order_by()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = found.explain()
    assert "user_name_prefix" in plan and "user_email_prefix" in plan


@pytest.mark.parametrize("text", ["' OR 1=1 --", "%", "_", "<script>alert(1)</script>", "alice\r\nSet-Cookie: x=1"])
def test_hostile_search_text_is_only_text(cast, text):
    response = signed_in(cast.erin).get(PEOPLE, {"q": text, "page": "²"})

    assert response.status_code == 200
    assert listed(response) == []
    assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [{}, {"q": "p"}, {"q": "p1"}, {"department": "D0"}, {"q": "p", "department": "D0"}, {"role": "manager"}],
)
def test_people_page_runs_the_same_queries_for_3_and_60_people(cast, sandbox, query):
    """The count is capped, the page's ids come from the name index, and only those 25 people have their
    roles and grants worked out: more people cost no more queries, whatever the search or filter."""
    erin = signed_in(cast.erin)

    def queries_with(count):
        for n in range(User.objects.filter(email__startswith="p").count(), count):
            person = User.objects.create_user(
                email=f"p{n}@example.com", full_name=f"P{n:02}", department=f"D{n % 4}", manager=cast.bob
            )
            Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
        with CaptureQueriesContext(connection) as queries:
            response = erin.get(PEOPLE, query)
        assert response.status_code == 200
        return len(queries), len(listed(response))

    (few, shown_of_few), (many, shown_of_many) = queries_with(3), queries_with(60)
    assert few == many
    assert shown_of_few <= 3 + 6 and shown_of_many <= people_views.PAGE_SIZE


def test_the_page_shows_people_in_name_order_with_their_own_roles_and_grants(cast, sandbox):
    for n in range(30):
        person = User.objects.create_user(email=f"p{n}@example.com", full_name=f"P{n:02}", manager=cast.bob)
        for _ in range(n % 3):
            entitlement = Entitlement.objects.create(account=sandbox.account, aws_name=f"G{n}-{_}", name=f"G{n}-{_}")
            Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)
    erin = signed_in(cast.erin)

    first, second = erin.get(PEOPLE), erin.get(PEOPLE, {"page": 2})

    everyone = list(User.objects.order_by("full_name", "email"))
    assert listed(first) + listed(second) == [person.email for person in everyone][: 2 * people_views.PAGE_SIZE]
    grants = {person.email: person.active_grants for person, _roles in first.context["rows"]}
    assert grants["p4@example.com"] == 1 and grants["p5@example.com"] == 2 and grants["p6@example.com"] == 0
    bob = next(roles for person, roles in first.context["rows"] if person == cast.bob)
    assert bob == ["Manager"]


def test_past_the_cap_the_count_says_more_than(cast, monkeypatch):
    from audit.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 3)
    erin = signed_in(cast.erin)

    everyone, finance = erin.get(PEOPLE).content.decode(), erin.get(PEOPLE, {"department": "Finance"}).content.decode()

    assert "More than 3 people (search or filter to narrow them), by name." in everyone
    assert "2 people, by name." in finance


def test_next_goes_on_past_the_cap_to_the_last_person(cast, monkeypatch):
    """The count stops (here at 30, in production at 10,000); Next does not: every person is reached, in
    name order, and a page number past the end shows the first page (the last is not known) rather than an error."""
    from audit.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 30)
    for n in range(70):
        User.objects.create_user(email=f"p{n}@example.com", full_name=f"P{n:02}")
    erin = signed_in(cast.erin)
    pages = [erin.get(PEOPLE)]
    while pages[-1].context["page"].has_next():
        assert len(pages) < 10, "Next goes round in circles"
        pages.append(erin.get(PEOPLE, {"page": pages[-1].context["page"].next_page_number()}))

    everyone = [person.email for person in User.objects.order_by("full_name", "email")]
    assert [email for page in pages for email in listed(page)] == everyone
    assert "Page 1 of at least 2" in pages[0].content.decode()
    assert "Page 4</span>" in pages[3].content.decode()
    past_the_end = erin.get(PEOPLE, {"page": 99})
    assert past_the_end.status_code == 200 and listed(past_the_end) == listed(pages[0])
    assert pages[2].context["page"].end_index() == 75 and pages[3].context["page"].end_index() == 76


@pytest.mark.parametrize("page", ["9" * 30, "-1", "0", "x", "1.5"])
def test_a_page_that_is_not_one_of_a_capped_list_gives_the_first(cast, monkeypatch, page):
    """Past 64 bits, below one, not a number: the first page, never an error or a read at a huge offset."""
    from audit.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 30)
    for n in range(40):
        User.objects.create_user(email=f"p{n}@example.com", full_name=f"P{n:02}")
    erin = signed_in(cast.erin)

    response = erin.get(PEOPLE, {"page": page})

    assert response.status_code == 200
    assert listed(response) == listed(erin.get(PEOPLE))


def test_departments_are_each_department_once_in_order_without_the_empty_one(cast):
    User.objects.create_user(email="gus@example.com", full_name="Gus", department="")
    User.objects.create_user(email="hal@example.com", full_name="Hal", department="Accounts")
    User.objects.create_user(email="ida@example.com", full_name="Ida", department="Zeta ' Team")

    expected = ["Accounts", "Engineering", "Finance", "Platform", "Security", "Zeta ' Team"]
    assert people_selectors.departments() == expected
    page = signed_in(cast.erin).get(PEOPLE, {"department": "Zeta ' Team"})
    assert listed(page) == ["ida@example.com"]


def test_person_page_runs_the_same_queries_for_1_and_30_grants(cast, sandbox):
    erin = signed_in(cast.erin)

    def queries_with(count):
        for n in range(Grant.objects.filter(user=cast.alice).count(), count):
            entitlement = Entitlement.objects.create(account=sandbox.account, aws_name=f"G{n}", name=f"G{n:02}")
            Grant.objects.create(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN)
        with CaptureQueriesContext(connection) as queries:
            assert erin.get(person_url(cast.alice)).status_code == 200
        return len(queries)

    assert queries_with(1) == queries_with(30)


# --- one person ------------------------------------------------------------------------------------


def test_person_page_shows_who_they_are_what_they_hold_and_their_open_requests(cast, alice_holds):
    response = signed_in(cast.erin).get(person_url(cast.alice))

    page = response.content.decode()
    assert response.context["person"].manager == cast.bob
    assert [grant.entitlement.name for grant in response.context["grants"]] == ["Developers", "Read-only"]
    assert [request.entitlement.name for request in response.context["requests"]] == ["Deployers"]
    assert 'data-testid="held-Developers"' in page and "Being applied" in page
    assert "Mark as leaver" in page and 'data-testid="removal"' not in page


def test_a_governance_admin_is_not_offered_to_mark_themself(cast):
    page = signed_in(cast.erin).get(person_url(cast.erin)).content.decode()

    assert "You cannot mark yourself a leaver" in page
    assert 'href="' + leaver_url(cast.erin) + '"' not in page


# --- marking a leaver ------------------------------------------------------------------------------


def test_the_confirmation_lists_exactly_what_will_be_removed_and_that_it_cannot_be_undone(cast, alice_holds):
    response = signed_in(cast.erin).get(leaver_url(cast.alice))

    page = response.content.decode()
    preview = response.context["preview"]
    assert [grant.entitlement.name for grant in preview.grants] == ["Developers", "Read-only"]
    assert [request.entitlement.name for request in preview.requests] == ["Deployers"]
    assert [token.name for token in preview.tokens] == ["build laptop"]
    assert "This cannot be undone" in page and "Access in AWS: 2 grants" in page
    assert "Open requests cancelled: 1" in page and "API tokens deleted: 1" in page and "build laptop" in page
    assert "every session they have open stops working" in page
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver, "showing the confirmation changes nothing"


def test_marking_through_the_page_goes_through_the_leaver_service_and_is_audited(cast, alice_holds, monkeypatch):
    calls = []
    real = people_views.mark_leaver
    monkeypatch.setattr(people_views, "mark_leaver", lambda **kwargs: calls.append(kwargs) or real(**kwargs))
    alice_session = signed_in(cast.alice)
    assert alice_session.get(reverse("access:my_access")).status_code == 200
    erin = signed_in(cast.erin)

    with tasks_queued() as queued:
        response = confirm(erin, cast.alice)

    assert response.status_code == 302 and response.url == person_url(cast.alice)
    assert [(call["person"].pk, call["actor"]) for call in calls] == [(cast.alice.pk, cast.erin)]
    cast.alice.refresh_from_db()
    assert cast.alice.is_leaver and not cast.alice.is_active
    assert set(alice_holds.values_list("desired", "sync_state")) == {("absent", "pending")}
    assert not AccessRequest.objects.filter(beneficiary=cast.alice, state="pending").exists()
    assert not ApiToken.objects.filter(user=cast.alice).exists()
    assert [name for name, _ in queued].count("iam.sync_grant") == 2
    left = AuditEvent.objects.get(action="person.left")
    assert (left.actor, left.object_id) == (cast.erin, str(cast.alice.pk))
    assert AuditEvent.objects.filter(action="grant.leaver_removed", actor=cast.erin).count() == 2
    assert alice_session.get(reverse("access:my_access")).status_code == 302, "her open session stopped working"
    shown = erin.get(response.url)
    assert "is a leaver" in shown.content.decode() and shown.context["removal"].total == 2


def test_without_the_box_ticked_nothing_happens(cast, alice_holds):
    erin = signed_in(cast.erin)
    fingerprint = erin.get(leaver_url(cast.alice)).context["preview"].fingerprint

    response = erin.post(leaver_url(cast.alice), {"fingerprint": fingerprint})

    assert response.status_code == 400
    assert "Tick the box to confirm" in response.content.decode()
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver and not AuditEvent.objects.filter(action="person.left").exists()


@pytest.mark.parametrize("fingerprint", ["", "0" * 64, "x" * 65, "²" * 64])
def test_a_confirmation_of_another_list_is_shown_again(cast, alice_holds, fingerprint):
    response = signed_in(cast.erin).post(leaver_url(cast.alice), {"understood": "on", "fingerprint": fingerprint})

    assert response.status_code in (400, 409)
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver


def test_access_granted_after_the_confirmation_was_shown_is_shown_before_anything_is_removed(
    cast, sandbox, alice_holds
):
    erin = signed_in(cast.erin)
    fingerprint = erin.get(leaver_url(cast.alice)).context["preview"].fingerprint
    services.grant_by_admin(actor=cast.erin, user=cast.alice, entitlement=sandbox.breakglass, justification=GOOD_REASON)

    response = erin.post(leaver_url(cast.alice), {"understood": "on", "fingerprint": fingerprint})

    assert response.status_code == 409
    assert "changed since this page was shown" in response.content.decode()
    assert response.context["preview"].grant_count == 3
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver


def test_nobody_marks_themself(cast):
    erin = signed_in(cast.erin)

    shown = erin.get(leaver_url(cast.erin))
    assert shown.status_code == 200 and "You cannot mark yourself a leaver" in shown.content.decode()
    assert 'name="understood"' not in shown.content.decode()
    response = confirm(erin, cast.erin)

    assert response.status_code == 403
    assert "You cannot mark yourself a leaver" in response.content.decode()
    cast.erin.refresh_from_db()
    assert not cast.erin.is_leaver


def test_the_last_governance_admin_is_not_marked(cast, django_user_model):
    """Zed, a second governance admin, opened the confirmation for Erin; meanwhile Zed lost the role, so
    Erin is the last active governance admin when the POST arrives: the model's guard refuses it."""
    zed = django_user_model.objects.create_superuser(email="zed@example.com", full_name="Zed Admin")
    fingerprint = people_views.selectors.leaver_preview(cast.erin).fingerprint
    django_user_model.objects.filter(pk=zed.pk).update(is_superuser=False, is_staff=False)
    request = RequestFactory().post(leaver_url(cast.erin), {"understood": "on", "fingerprint": fingerprint})
    request.user = zed  # as loaded at the start of the request, before the change

    response = people_views.leaver(request, person_id=cast.erin.pk)

    assert response.status_code == 409
    assert "is the last active governance admin" in response.content.decode()
    cast.erin.refresh_from_db()
    assert not cast.erin.is_leaver and cast.erin.is_active


def test_a_second_submit_changes_nothing_and_says_so(cast, alice_holds):
    erin = signed_in(cast.erin)
    fingerprint = erin.get(leaver_url(cast.alice)).context["preview"].fingerprint
    form = {"understood": "on", "fingerprint": fingerprint}

    first = erin.post(leaver_url(cast.alice), form)
    second = erin.post(leaver_url(cast.alice), form)

    assert (first.status_code, second.status_code) == (302, 409)
    assert "Alice Engineer is already a leaver." in second.content.decode()
    assert AuditEvent.objects.filter(action="person.left").count() == 1
    assert AuditEvent.objects.filter(action="grant.leaver_removed").count() == 2
    again = erin.get(leaver_url(cast.alice))
    assert again.status_code == 302 and again.url == person_url(cast.alice)


# --- the removal, read back from AWS ---------------------------------------------------------------


def sync(grant, *, fails: str = ""):
    """What the sync engine records once it has removed a grant and read it back (or failed to)."""
    work = services.claim_grant_for_sync(grant.pk)
    if fails:
        services.record_sync_failure(work, error=fails)
    else:
        services.record_sync_success(work, evidence="not a member (read back)")


def test_removal_progress_counts_only_what_was_read_back(cast, alice_holds):
    erin = signed_in(cast.erin)
    confirm(erin, cast.alice)
    developers, readonly = alice_holds.order_by("entitlement__name")

    waiting = erin.get(person_url(cast.alice), HTTP_HX_REQUEST="true")
    assert "0 of 2 removed and verified; 2 waiting for the sync" in waiting.content.decode()
    assert 'hx-trigger="every 2s"' in waiting.content.decode(), "the page polls while the sync works"

    sync(developers)
    sync(readonly, fails="AWS refused (AccessDenied): not authorised to remove members")
    # The leaver's own steps (keys, password, MFA, sessions: tests/iam/test_leaver_steps.py) are over too.
    LeaverStep.objects.filter(person=cast.alice).update(state=LeaverStep.State.DONE, finished_at=timezone.now())
    partial = erin.get(person_url(cast.alice), HTTP_HX_REQUEST="true").content.decode()
    assert "1 of 2 removed and verified; 1 failed" in partial
    assert "AWS refused (AccessDenied): not authorised to remove members" in partial
    assert 'hx-trigger="every 2s"' not in partial, "nothing is waiting: polling stops"
    retry = reverse("access:retry_removal", args=[cast.alice.pk, readonly.pk])
    assert f'action="{retry}"' in partial
    auditor_view = signed_in(cast.frank).get(person_url(cast.alice), HTTP_HX_REQUEST="true").content.decode()
    assert "Failed" in auditor_view and retry not in auditor_view

    assert erin.post(retry).status_code == 302
    readonly.refresh_from_db()
    assert readonly.sync_state == Grant.SyncState.PENDING
    assert AuditEvent.objects.filter(action="grant.retry", actor=cast.erin, object_id=str(readonly.pk)).exists()
    sync(readonly)
    done = erin.get(person_url(cast.alice), HTTP_HX_REQUEST="true").content.decode()
    assert "All removed and verified: 2 of 2" in done and 'hx-trigger="every 2s"' not in done


def test_only_a_failed_removal_of_that_person_is_retried(cast, alice_holds):
    erin = signed_in(cast.erin)
    confirm(erin, cast.alice)
    grant = alice_holds.first()
    retry = reverse("access:retry_removal", args=[cast.alice.pk, grant.pk])

    assert erin.post(reverse("access:retry_removal", args=[cast.bob.pk, grant.pk])).status_code == 404
    assert erin.post(retry).status_code == 409, "still waiting for the sync: nothing to retry"
    assert signed_in(cast.frank).post(retry).status_code == 403


def test_a_leaver_who_held_nothing_has_nothing_to_remove(cast):
    erin = signed_in(cast.erin)
    confirm(erin, cast.dave)

    page = erin.get(person_url(cast.dave)).content.decode()

    assert "nothing to remove from AWS" in page and 'hx-trigger="every 2s"' not in page
    assert listed(erin.get(PEOPLE, {"status": "leaver"})) == ["dave@example.com"]


def test_a_leavers_page_runs_the_same_queries_for_1_and_30_removals(cast, sandbox):
    erin = signed_in(cast.erin)
    for n in range(30):
        entitlement = Entitlement.objects.create(account=sandbox.account, aws_name=f"G{n}", name=f"G{n:02}")
        Grant.objects.create(user=cast.alice if n == 0 else cast.bob, entitlement=entitlement, source="admin")
    confirm(erin, cast.alice)
    confirm(erin, cast.bob)

    def queries_for(person):
        with CaptureQueriesContext(connection) as queries:
            assert erin.get(person_url(person)).status_code == 200
        return len(queries)

    assert queries_for(cast.alice) == queries_for(cast.bob)
