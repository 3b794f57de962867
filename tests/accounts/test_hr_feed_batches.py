"""The HR feed applies a checked file in short batches, each committed with its run's progress.

Nina's 10,000-joiner file must not hold every other writer for minutes: rows are written in bulk, a batch
of BATCH_SIZE at a time, each batch's audit events recorded together at its very end (the chain head is
held for that tail only). A run stopped half-way (a row the database refuses, a connection killed) keeps
its committed batches, and the same file run again carries on from there: nobody is applied twice.
"""

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from access import services
from access.models import AccessRequest, Grant
from accounts import hr_feed
from accounts.models import FeedRun, User
from audit.models import AuditChainHead, AuditEvent
from audit.services import ObjectRef, record
from audit.verification import verify_chain
from iam.apply import sync

HEADER = "email,full_name,title,department,manager_email,status\n"
REASON = "Deploying the billing service for the Q4 release"


def joiners(count: int, manager: str = "bob@example.com", start: int = 0) -> str:
    return "".join(
        f"joiner{k}@example.com,Joiner {k},Engineer,Engineering,{manager},active\n" for k in range(start, start + count)
    )


def run_feed(tmp_path, text: str, *args: str, name: str = "hr.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    out = io.StringIO()
    call_command("import_people", str(path), *args, stdout=out)
    return out.getvalue()


def assert_everyone_once(emails: list[str]) -> None:
    joined = AuditEvent.objects.filter(action="person.joined", actor_label="system:hr-feed")
    people = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
    assert sorted(people) == sorted(emails), "every person of the file exists"
    ids = list(joined.filter(object_id__in=[str(pk) for pk in people.values()]).values_list("object_id", flat=True))
    assert sorted(ids) == sorted(str(pk) for pk in people.values()), "and joined exactly once"


def assert_one_chain() -> None:
    verification = verify_chain()
    assert verification.intact, verification.describe()
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) == list(range(1, AuditChainHead.objects.get().last_seq + 1)), "no gap"
    assert AuditEvent.objects.values("prev_hash").distinct().count() == len(seqs), "no fork"


def test_managers_come_first_across_batches_and_the_run_counts_the_whole_file(tmp_path, cast):
    # Nora leads Nina and Noel but is listed after them; Dave leaves half-way down; Alice moves.
    text = (
        HEADER
        + "nina@example.com,Nina Newbie,Engineer,Engineering,nora@example.com,active\n"
        + "noel@example.com,Noel Newbie,Engineer,Engineering,nora@example.com,active\n"
        + "dave@example.com,Dave Othermanager,Finance Manager,Finance,,leaver\n"
        + "alice@example.com,Alice Engineer,Senior Engineer,Platform,bob@example.com,active\n"
        + "nora@example.com,Nora Lead,Lead,Engineering,carol@example.com,active\n"
        + joiners(5, manager="nina@example.com")
    )

    output = run_feed(tmp_path, text, "--batch-size", "2")

    assert "8 joined, 1 moved, 1 left, 0 unchanged." in output
    assert "leaver: dave@example.com" in output and "10 of 10 rows applied" in output
    nora = User.objects.get(email="nora@example.com")
    assert User.objects.get(email="nina@example.com").manager == nora and nora.manager == cast.carol
    assert User.objects.get(email="joiner4@example.com").manager.email == "nina@example.com"
    assert not User.objects.get(email="nina@example.com").has_usable_password(), "SSO or a reset, as every joiner"
    assert User.objects.get(email="dave@example.com").is_leaver
    run = FeedRun.objects.get()
    assert (run.state, run.rows_applied, run.total_rows, run.joined, run.moved, run.left) == (
        FeedRun.State.SUCCEEDED,
        10,
        10,
        8,
        1,
        1,
    )
    assert run.finished_at and run.requested_label.startswith("manage.py import_people")
    joined = AuditEvent.objects.get(
        action="person.joined", object_id=str(User.objects.get(email="nina@example.com").pk)
    )
    assert joined.after == {
        "full_name": "Nina Newbie",
        "title": "Engineer",
        "department": "Engineering",
        "manager": nora.pk,
    }
    moved = AuditEvent.objects.get(action="person.moved", object_id=str(cast.alice.pk))
    assert moved.before["title"] == "Engineer" and moved.after["title"] == "Senior Engineer"
    assert_one_chain()


def test_a_mover_whose_approvals_follow_them_is_moved_through_the_service(tmp_path, cast, sandbox):
    pending = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)

    run_feed(
        tmp_path,
        HEADER + joiners(3) + "alice@example.com,Alice Engineer,Engineer,Engineering,dave@example.com,active\n",
        "--batch-size",
        "50",
    )

    assert pending.approvals.get().assignments.filter(approver=cast.dave, decision="pending").exists()
    assert AuditEvent.objects.filter(action="approval.rerouted", actor_label="system:hr-feed").count() == 1
    assert FeedRun.objects.get().moved == 1


def test_the_file_is_refused_whole_before_any_batch_when_a_value_is_too_long(tmp_path, cast):
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        run_feed(tmp_path, HEADER + joiners(300) + f"long@example.com,{'L' * 151},,,,active\n")

    assert "Nothing was changed" in str(refused.value)
    assert "Line 302: full_name is longer than 150 characters." in str(refused.value)
    assert not FeedRun.objects.exists() and AuditEvent.objects.count() == events
    assert not User.objects.filter(email__startswith="joiner").exists()


def test_the_last_governance_admin_leaving_is_refused_with_the_file(tmp_path, cast):
    with pytest.raises(CommandError) as refused:
        run_feed(tmp_path, HEADER + joiners(3) + "erin@example.com,Erin Admin,,Security,,leaver\n")

    assert "Line 5: Erin Admin is the last active governance admin" in str(refused.value)
    assert not User.objects.filter(email__startswith="joiner").exists()


@pytest.mark.postgres
def test_a_row_the_database_refuses_stops_the_run_and_the_same_file_carries_on(tmp_path, cast):
    """A hostile row the checks could not see: the database itself refuses it, at apply time."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_hostile() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'hostile row refused'; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_hostile BEFORE INSERT ON accounts_user FOR EACH ROW "
            "WHEN (NEW.email = 'joiner34@example.com') EXECUTE FUNCTION refuse_hostile()"
        )
    text = HEADER + joiners(60)
    emails = [f"joiner{k}@example.com" for k in range(60)]

    with pytest.raises(CommandError) as stopped:
        run_feed(tmp_path, text, "--batch-size", "10")

    message = str(stopped.value)
    assert "The feed stopped after 30 of 60 rows: the database refused a row among rows 31 to 40" in message
    assert "hostile row refused" in message and "run the same file again to carry on" in message
    run = FeedRun.objects.get()
    assert (run.state, run.rows_applied, run.joined) == (FeedRun.State.FAILED, 30, 30)
    assert "hostile row refused" in run.error
    assert User.objects.filter(email__in=emails).count() == 30, "the committed batches stay"
    assert_one_chain()

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_hostile ON accounts_user")
    output = run_feed(tmp_path, text, "--batch-size", "10")

    assert "30 of 60 rows were already applied" in output and "60 joined, 0 moved" in output
    run.refresh_from_db()
    assert (run.state, run.rows_applied, run.error) == (FeedRun.State.SUCCEEDED, 60, "")
    assert FeedRun.objects.count() == 1, "the same run, resumed"
    assert_everyone_once(emails)
    assert_one_chain()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_mid_import_then_the_same_file_again_applies_everyone_once(tmp_path, cast):
    """The database drops the import's connection half-way (as a crash or a failover would)."""
    text = HEADER + joiners(2000)
    records = hr_feed.parse(hr_feed.decode(text.encode()))
    run, _ = hr_feed.open_run(records, file_digest=hr_feed.digest(text.encode()), requested_label="test")
    backend, outcome = [], []

    def import_it():
        try:
            backend.append(connection.connection.info.backend_pid if connection.connection else None)
            connection.ensure_connection()
            backend[0] = connection.connection.info.backend_pid
            hr_feed.apply(records, run, batch_size=100)
            outcome.append("finished")
        except hr_feed.FeedError as exc:
            outcome.append(exc)
        finally:
            connection.close()

    importer = threading.Thread(target=import_it)
    importer.start()
    deadline = time.monotonic() + 120
    while FeedRun.objects.get(pk=run.pk).rows_applied < 300 and time.monotonic() < deadline and importer.is_alive():
        time.sleep(0.01)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend[0]])
    importer.join(timeout=120)

    assert outcome and outcome[0] != "finished", "the import was killed before its end"
    run.refresh_from_db()
    assert run.state == FeedRun.State.FAILED and 300 <= run.rows_applied < 2000
    assert User.objects.filter(email__startswith="joiner").count() == run.rows_applied, "whole batches only"

    output = run_feed(tmp_path, text)

    assert f"{run.rows_applied:,} of 2,000 rows were already applied" in output
    assert_everyone_once([f"joiner{k}@example.com" for k in range(2000)])
    assert_one_chain()


def _pattern_file(existing: list[User], rows: int) -> str:
    """Every ten rows: six joiners, two movers changing title, one changing manager, one unchanged."""
    lines = []
    for k in range(rows // 10):
        for j in range(6):
            lines.append(f"new{k}-{j}@example.com,New {k} {j},Engineer,Engineering,bob@example.com,active\n")
        a, b, c, d = existing[4 * k : 4 * k + 4]
        lines.append(f"{a.email},{a.full_name},Senior,Engineering,{a.manager.email},active\n")
        lines.append(f"{b.email},{b.full_name},Senior,Engineering,{b.manager.email},active\n")
        lines.append(f"{c.email},{c.full_name},{c.title},{c.department},dave@example.com,active\n")
        lines.append(f"{d.email},{d.full_name},{d.title},{d.department},{d.manager.email},active\n")
    return HEADER + "".join(lines)


@pytest.mark.postgres
@pytest.mark.parametrize("batch_size", [20, 200])
def test_every_batch_runs_the_same_queries_whatever_its_size(cast, batch_size):
    existing = User.objects.bulk_create(
        User(
            email=f"staff{k}@example.com", full_name=f"Staff {k}", title="Engineer", department="Eng", manager=cast.bob
        )
        for k in range(400)
    )
    existing = list(User.objects.filter(email__startswith="staff").select_related("manager").order_by("pk"))
    with transaction.atomic():  # an installation's first event creates the chain head: not the feed's cost
        record(actor=cast.erin, action="test.chain_started", obj=ObjectRef("test.thing", "1"))
    text = _pattern_file(existing, 1000)
    records = hr_feed.parse(hr_feed.decode(text.encode()))
    run, _ = hr_feed.open_run(records, file_digest=hr_feed.digest(text.encode()), requested_label="test")
    ordered = hr_feed._managers_first(records)
    counts = []
    while True:
        with CaptureQueriesContext(connection) as queries:
            batch = hr_feed.apply_batch(run.pk, ordered, batch_size=batch_size)
        if batch is None:
            break
        counts.append(len(queries))

    assert len(counts) == 1000 // batch_size
    assert set(counts) == {counts[0]} and counts[0] <= 12, f"queries per batch: {counts}"
    run.refresh_from_db()
    assert (run.joined, run.moved, run.unchanged) == (600, 300, 100)
    assert User.objects.get(email=existing[2].email).manager == cast.dave
    assert_one_chain()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_approvals_are_answered_and_grants_synced_while_a_large_import_runs_and_the_chain_stays_one(
    cast, sandbox, aws, celery_worker
):
    """Eight managers approve their reports' requests, and four grants are made and synced to AWS, all
    released together while 4,000 people join."""
    managers = [User.objects.create_user(email=f"manager{k}@example.com", full_name=f"Manager {k}") for k in range(8)]
    requests = []
    for k, manager in enumerate(managers):
        report = User.objects.create_user(email=f"report{k}@example.com", full_name=f"Report {k}", manager=manager)
        requests.append(
            services.submit_request(requester=report, entitlement=sandbox.developers, justification=REASON).pk
        )
    text = HEADER + joiners(4000)
    records = hr_feed.parse(hr_feed.decode(text.encode()))
    run, _ = hr_feed.open_run(records, file_digest=hr_feed.digest(text.encode()), requested_label="test")
    barrier, answered, synced, errors, import_done = threading.Barrier(10), {}, [], [], []
    waiting: list[int] = []

    def import_it():
        try:
            barrier.wait(timeout=60)
            hr_feed.apply(records, run, batch_size=hr_feed.BATCH_SIZE)
            import_done.append(time.monotonic())
        except Exception as exc:  # a deadlock or a refusal fails the test
            errors.append(exc)
        finally:
            connection.close()

    def approve(k: int):
        try:
            barrier.wait(timeout=60)
            deadline = time.monotonic() + 60
            while FeedRun.objects.get(pk=run.pk).rows_applied == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            services.approve(request_id=requests[k], actor=managers[k])
            answered[k] = (time.monotonic(), FeedRun.objects.get(pk=run.pk).state)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def sync_it():
        """Once the import is under way, Erin grants four people access and their grants are synced to AWS,
        by this thread or by the session's worker (`celery_worker`), whichever claims each first."""
        try:
            barrier.wait(timeout=60)
            deadline = time.monotonic() + 60
            while FeedRun.objects.get(pk=run.pk).rows_applied == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            waiting[:] = [  # people whose IAM users the simulated account holds (`aws`)
                services.grant_by_admin(
                    actor=cast.erin, user=person, entitlement=sandbox.developers, justification=REASON
                ).pk
                for person in (cast.alice, cast.bob, cast.carol, cast.dave)
            ]
            for grant_id in waiting:  # each claimed, applied and recorded on its own ("skipped": a worker has it)
                sync.sync_grant(grant_id)
            unsynced = Grant.objects.filter(pk__in=waiting).exclude(sync_state=Grant.SyncState.APPLIED)
            while unsynced.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            synced.append((time.monotonic(), FeedRun.objects.get(pk=run.pk).state))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=import_it), threading.Thread(target=sync_it)]
    threads += [threading.Thread(target=approve, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert not errors, errors
    assert len(answered) == 8 and import_done
    assert all(when < import_done[0] for when, _ in answered.values()), "each approval answered before the import ended"
    assert {state for _, state in answered.values()} == {FeedRun.State.RUNNING}, "while it was running"
    assert set(AccessRequest.objects.filter(pk__in=requests).values_list("state", flat=True)) == {"approved"}
    assert len(waiting) == 4 and len(synced) == 1
    assert set(Grant.objects.filter(pk__in=waiting).values_list("sync_state", flat=True)) == {"applied"}
    assert synced[0][0] < import_done[0], "the grants were made and synced before the import ended"
    assert synced[0][1] == FeedRun.State.RUNNING, "while it was running"
    assert_everyone_once([f"joiner{k}@example.com" for k in range(4000)])
    assert_one_chain()
