"""The audit log pages: auditors and governance admins filter, read, export and verify; nobody else."""

import csv
import io
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessRequest
from audit.models import AuditEvent, ChainCheck
from audit.services import record
from tests.conftest import wait_until_the_worker_is_idle

GOOD_REASON = "Deploying the billing service for the Q4 release"


def flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def listed(response) -> list[int]:
    return [event.seq for event in response.context["page"]]


def tamper(sql: str, params: list) -> None:
    """Change rows behind the application's back, as someone with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a superuser can switch the append-only trigger off
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def trail(cast, sandbox):
    """Alice asks for Developers through the page (from 203.0.113.7), Bob approves, and the system
    and Erin leave one event each: six events in all."""
    client = Client()  # her own browser: the test's client stays for the reader
    client.force_login(cast.alice)
    client.post(
        reverse("access:request_new", args=[sandbox.developers.pk]),
        {"justification": GOOD_REASON},
        REMOTE_ADDR="203.0.113.7",
    )
    services.approve(request_id=AccessRequest.objects.get(beneficiary=cast.alice).pk, actor=cast.bob)
    with transaction.atomic():
        record(actor=None, action="drift.found", obj=sandbox.account, after={"principal": "mallory"})
        record(
            actor=cast.erin,
            action="catalog.entitlement_changed",
            obj=sandbox.developers,
            before={"name": "Developers", "risk": "low", "max_duration_days": None},
            after={"name": "Developers", "risk": "high", "requestable": False},
        )
    return list(AuditEvent.objects.order_by("seq"))


def test_auditors_and_governance_admins_read_the_log_and_nobody_else(client_for, cast, trail):
    for reader in (cast.frank, cast.erin):
        assert client_for(reader).get(reverse("audit:events")).status_code == 200
    for other in (cast.alice, cast.bob, cast.carol, cast.dave):
        client = client_for(other)
        assert client.get(reverse("audit:events")).status_code == 403
        assert client.get(reverse("audit:event", args=[trail[0].pk])).status_code == 403
        assert client.get(reverse("audit:export")).status_code == 403
        assert client.post(reverse("audit:verify")).status_code == 403


def test_the_log_lists_newest_first(client_for, cast, trail):
    response = client_for(cast.frank).get(reverse("audit:events"))

    assert listed(response) == [event.seq for event in reversed(trail)]
    assert f"{len(trail)} events, newest first." in response.content.decode()


@pytest.mark.parametrize(
    ("filters", "actions"),
    [
        ({"actor": "BOB@"}, ["approval.approved", "request.approved", "grant.desired_present"]),
        ({"actor": "system"}, ["drift.found"]),
        ({"action": "request."}, ["request.submitted", "request.approved"]),
        ({"action": "grant.desired_present"}, ["grant.desired_present"]),
        ({"object_type": "catalog.awsaccount"}, ["drift.found"]),
        ({"q": "mallory"}, ["drift.found"]),
        ({"q": "203.0.113"}, ["request.submitted"]),
        ({"q": "requestable"}, ["catalog.entitlement_changed"]),
    ],
)
def test_filters_narrow_the_log(client_for, cast, trail, filters, actions):
    response = client_for(cast.frank).get(reverse("audit:events"), filters)

    shown = [event.action for event in response.context["page"]]
    assert sorted(shown) == sorted(actions)


def test_object_filter_shows_one_objects_history(client_for, cast, sandbox, trail):
    response = client_for(cast.frank).get(
        reverse("audit:events"), {"object_type": "catalog.entitlement", "object_id": str(sandbox.developers.pk)}
    )

    assert [event.action for event in response.context["page"]] == ["catalog.entitlement_changed"]


def test_date_range_includes_both_whole_days(client_for, cast, trail):
    last_week = timezone.now() - timedelta(days=7)
    tamper(
        "UPDATE audit_auditevent SET created_at = %s WHERE seq <= 2",
        [connection.ops.adapt_datetimefield_value(last_week)],
    )
    client = client_for(cast.frank)
    day = last_week.date().isoformat()

    that_day = client.get(reverse("audit:events"), {"created_after": day, "created_before": day})
    since_then = client.get(reverse("audit:events"), {"created_after": (last_week.date() + timedelta(days=1))})

    assert sorted(listed(that_day)) == [1, 2]
    assert sorted(listed(since_then)) == [event.seq for event in trail[2:]]


def test_a_malformed_date_lists_nothing_and_says_so(client_for, cast, trail):
    client = client_for(cast.frank)

    page = client.get(reverse("audit:events"), {"created_after": "last tuesday"})
    export = client.get(reverse("audit:export"), {"created_after": "last tuesday"})

    assert page.status_code == 400
    assert listed(page) == []
    assert "The filters could not be read" in page.content.decode()
    assert export.status_code == 400
    assert "could not be read" in export.content.decode()


def test_an_event_shows_who_what_from_where_and_its_hashes(client_for, cast, trail):
    submitted = next(event for event in trail if event.action == "request.submitted")

    response = client_for(cast.frank).get(reverse("audit:event", args=[submitted.pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert "203.0.113.7" in page
    assert submitted.hash in page and submitted.prev_hash in page
    assert "alice@example.com" in page
    assert "Contents match the hash" in page and "Linked to the event before it" in page


def test_an_event_shows_before_and_after_side_by_side(client_for, cast, trail):
    changed = trail[-1]

    response = client_for(cast.erin).get(reverse("audit:event", args=[changed.pk]))

    lines = {change.name: (change.before, change.after, change.kind) for change in response.context["changes"]}
    assert lines == {
        "max_duration_days": ("null", None, "removed"),
        "name": ("Developers", "Developers", "same"),
        "requestable": (None, "false", "added"),
        "risk": ("low", "high", "changed"),
    }


def test_an_edited_event_is_flagged_on_its_page(client_for, cast, trail):
    tamper("UPDATE audit_auditevent SET actor_label = %s WHERE seq = 2", ["mallory@example.com"])

    page = client_for(cast.frank).get(reverse("audit:event", args=[trail[1].pk])).content.decode()

    assert "Contents do not match the hash" in page


def test_an_unknown_event_is_not_found(client_for, cast, trail):
    assert client_for(cast.frank).get(reverse("audit:event", args=[trail[-1].pk + 1000])).status_code == 404


def test_export_streams_the_filtered_events_in_chain_order(client_for, cast, trail):
    response = client_for(cast.frank).get(reverse("audit:export"), {"actor": "bob@"})

    rows = csv_rows(response)
    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="audit-events.csv"'
    assert [row["action"] for row in rows] == ["approval.approved", "request.approved", "grant.desired_present"]
    first = AuditEvent.objects.get(seq=int(rows[0]["seq"]))
    assert rows[0]["hash"] == first.hash and rows[0]["prev_hash"] == first.prev_hash
    assert rows[0]["created_at"] == first.created_at.isoformat()


def test_export_quotes_cells_a_spreadsheet_would_run(client_for, cast, sandbox, trail):
    with transaction.atomic():
        record(actor=None, actor_label='=HYPERLINK("http://evil.example")', action="+sum", obj=sandbox.account)
        record(actor=None, actor_label="@cmd", action="-1+2", obj=sandbox.account)

    rows = csv_rows(client_for(cast.frank).get(reverse("audit:export"), {"object_type": "catalog.awsaccount"}))

    cells = [(row["actor_label"], row["action"]) for row in rows if row["action"] != "drift.found"]
    assert cells == [('\'=HYPERLINK("http://evil.example")', "'+sum"), ("'@cmd", "'-1+2")]


@pytest.mark.django_db(transaction=True)
def test_auditor_asks_for_a_check_and_a_worker_walks_the_chain(client_for, cast, trail, celery_worker):
    wait_until_the_worker_is_idle()  # the trail's own tasks (syncs, notices) may add events of their own
    events = AuditEvent.objects.count()
    client = client_for(cast.frank)
    response = client.post(reverse("audit:verify"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("audit:events")
    assert flashes(response) == ["The chain is being checked: its progress and verdict are shown below."]
    check = finished(ChainCheck.objects.get())
    assert (check.requested_by, check.intact, check.events_total) == (cast.frank, True, events)
    assert check.outcome == f"Audit chain intact: {events} events verified."
    assert AuditEvent.objects.count() == events, "checking writes nothing into the trail"
    fragment = client.get(reverse("audit:checks")).content.decode()
    assert check.outcome in fragment and "hx-trigger" not in fragment, "nothing running: no polling"


@pytest.mark.django_db(transaction=True)
def test_a_check_names_the_first_edited_event(client_for, cast, trail, celery_worker):
    tamper("UPDATE audit_auditevent SET action = %s WHERE seq = 3", ["request.denied"])

    client_for(cast.erin).post(reverse("audit:verify"))

    check = finished(ChainCheck.objects.get())
    assert (check.intact, check.broken_seq, check.broken_event_id) == (False, 3, trail[2].pk)
    assert check.outcome == (
        f"Audit chain broken at event #3 (row id {trail[2].pk}): its contents were edited after it was written."
    )
    page = client_for(cast.frank).get(reverse("audit:events")).content.decode()
    assert "Audit chain broken at event #3" in page


def test_a_check_reports_its_progress_while_it_runs(cast, trail):
    """What the worker writes as it goes (the page polls it): total first, then how far it got."""
    from audit import verification

    check = ChainCheck.objects.create(requested_by=cast.frank)
    seen = []
    verification.verify_chain(
        on_start=lambda total: seen.append(("total", total)), progress=lambda n: seen.append(("checked", n))
    )
    assert seen == [("total", len(trail))], "fewer events than one progress step"

    done = verification.run_check(check.pk)
    assert (done.events_checked, done.events_total, done.intact) == (len(trail), len(trail), True)
    assert verification.run_check(check.pk) is None, "a redelivered message does not run it twice"


def test_a_waiting_check_polls_and_shows_a_progress_bar(client_for, cast, trail):
    ChainCheck.objects.create(requested_by=cast.frank, events_total=1000, events_checked=250)

    fragment = client_for(cast.frank).get(reverse("audit:checks")).content.decode()

    assert 'hx-trigger="every 2s"' in fragment
    assert 'data-progress="250/1000"' in fragment and "250 of 1,000 events checked" in fragment


def finished(check: ChainCheck, timeout: float = 120) -> ChainCheck:
    deadline = time.monotonic() + timeout
    while check.running and time.monotonic() < deadline:
        time.sleep(0.1)
        check.refresh_from_db()
    return check


def test_verifying_needs_a_post(client_for, cast, trail):
    assert client_for(cast.frank).get(reverse("audit:verify")).status_code == 405


def test_readers_see_the_log_in_the_navigation_and_others_do_not(client_for, cast, db):
    link = f'href="{reverse("audit:events")}"'
    assert link in client_for(cast.frank).get("/").content.decode()
    assert link in client_for(cast.erin).get("/").content.decode()
    assert link not in client_for(cast.alice).get("/").content.decode()


def write_events(sandbox, person, count: int) -> None:
    with transaction.atomic():
        for number in range(count):
            record(actor=person, action="test.listed", obj=sandbox.account, after={"n": number})


@pytest.mark.parametrize("page", ["list", "detail", "export"])
def test_pages_run_the_same_queries_for_10_and_1000_events(client_for, cast, sandbox, django_assert_num_queries, page):
    client = client_for(cast.frank)

    def visit():
        newest = AuditEvent.objects.order_by("-seq").first()
        url = {
            "list": reverse("audit:events") + "?action=test.",
            "detail": reverse("audit:event", args=[newest.pk]),
            "export": reverse("audit:export") + "?action=test.",
        }[page]
        response = client.get(url)
        if page == "export":
            b"".join(response.streaming_content)
        return response

    write_events(sandbox, cast.bob, 10)
    visit()  # the session and caches settle on the first visit
    with CaptureQueriesContext(connection) as at_ten:
        assert visit().status_code == 200
    write_events(sandbox, cast.carol, 990)

    with django_assert_num_queries(len(at_ten)):
        assert visit().status_code == 200


def test_the_log_counts_up_to_a_cap_and_says_more_than(client_for, cast, sandbox, monkeypatch):
    """A million events are never counted to print one number: past the cap the page says "more than"."""
    from audit.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 5)
    write_events(sandbox, cast.erin, 4)
    assert "event" in client_for(cast.frank).get("/audit/").content.decode()
    write_events(sandbox, cast.erin, 10)

    with CaptureQueriesContext(connection) as queries:
        page = client_for(cast.frank).get("/audit/").content.decode()

    assert "More than 5 events" in page
    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"] and "audit_auditevent" in query["sql"]]
    assert counts and all("LIMIT 6" in sql for sql in counts), counts
