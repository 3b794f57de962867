"""The audit chain: every change is recorded, and editing, deleting or reordering rows is named."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from access import services
from audit.chain import event_hash
from audit.models import AuditEvent

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def chain(cast, sandbox):
    """Four events: a request, its approval step, its approval, and the desired grant."""
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    return list(AuditEvent.objects.order_by("seq"))


def tamper(sql: str, params: list) -> None:
    """Change rows behind the application's back, as someone with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a superuser can switch the append-only trigger off
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def verify() -> str:
    try:
        call_command("verify_audit")
    except CommandError as exc:
        return str(exc)
    return "intact"


def test_intact_chain_verifies(chain, capsys):
    assert [event.seq for event in chain] == [1, 2, 3, 4]
    assert verify() == "intact"
    assert "4 events verified" in capsys.readouterr().out


def test_edited_payload_is_named(chain):
    tamper("UPDATE audit_auditevent SET actor_label = %s WHERE seq = 2", ["mallory@example.com"])

    assert verify() == (
        f"Audit chain broken at event #2 (row id {chain[1].id}): its contents were edited after it was written."
    )


def test_deleted_row_is_named(chain):
    tamper("DELETE FROM audit_auditevent WHERE seq = 3", [])

    assert verify().startswith("Audit chain broken at event #3: event #3 is missing")


def test_deleted_last_row_is_named(chain):
    tamper("DELETE FROM audit_auditevent WHERE seq = 4", [])

    assert "trailing rows removed" in verify()


def test_reordered_rows_are_named(chain):
    tamper("UPDATE audit_auditevent SET seq = 1000 WHERE seq = 2", [])
    tamper("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3", [])
    tamper("UPDATE audit_auditevent SET seq = 3 WHERE seq = 1000", [])

    assert verify() == (
        f"Audit chain broken at event #2 (row id {chain[2].id}): its link to the previous event does not match "
        "(reordered or a row before it was removed)."
    )


def test_a_row_added_behind_the_applications_back_is_named(chain):
    """A well-formed fifth event inserted straight into the table, without moving the chain's head."""
    last = chain[-1]
    fields = {
        "seq": last.seq + 1,
        "created_at": timezone.now(),
        "actor_id": None,
        "actor_label": "mallory@example.com",
        "action": "grant.admin_granted",
        "object_type": last.object_type,
        "object_id": last.object_id,
        "before": None,
        "after": {"desired": "present"},
        "ip": None,
        "prev_hash": last.hash,
    }
    forged = AuditEvent.objects.create(hash=event_hash(**fields), **fields)

    assert verify() == (
        f"Audit chain broken at event #5 (row id {forged.pk}): it lies beyond the chain's head "
        "(added behind the application's back)."
    )


@pytest.mark.postgres
def test_postgresql_refuses_update_and_delete(chain):
    for statement in ("UPDATE audit_auditevent SET action = 'x' WHERE seq = 1", "DELETE FROM audit_auditevent"):
        with (
            pytest.raises(DatabaseError, match="audit events are append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 4
    assert verify() == "intact"


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused(cast):
    from audit.services import record

    with pytest.raises(RuntimeError, match="inside the transaction"):
        record(actor=cast.alice, action="x", obj=cast.alice)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_produce_one_unbroken_chain(cast):
    import threading

    from audit.services import record

    start, writers, events_each = threading.Barrier(4), 4, 25

    def write():
        start.wait()
        try:
            for _ in range(events_each):
                with transaction.atomic():
                    record(actor=cast.alice, action="test.concurrent", obj=cast.alice)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, writers * events_each + 1)
    )
    assert verify() == "intact"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # committed rows: TRUNCATE is refused by the guard, not by pending checks
def test_postgresql_refuses_truncate_of_the_trail(chain):
    for table in ("audit_auditevent", "audit_auditchainhead"):
        with (
            pytest.raises(DatabaseError, match="TRUNCATE refused"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == 4
    assert verify() == "intact"
