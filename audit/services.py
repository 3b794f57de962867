"""Writing to the audit trail. Call `record` inside the transaction of the change it describes."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit.chain import event_hash
from audit.context import client_ip
from audit.models import AuditChainHead, AuditEvent, AuditSubject

# Keys of an event's `after` that name another object it concerns (`{"request": 12}` on a vote or a
# grant's sync), and that object's type: each becomes an `AuditSubject` row beside the event. Registered
# by the app that owns the type (audit knows no models); the data migration audit 0007 used the same.
_subject_keys: dict[str, str] = {}


def register_subject_key(key: str, object_type: str) -> None:
    """Say that `after[key]`, when it is an integer, is the id of an `object_type` the event concerns."""
    _subject_keys[key] = object_type


def _subjects_of(event: AuditEvent) -> list[AuditSubject]:
    after = event.after if isinstance(event.after, dict) else {}
    return [
        AuditSubject(event=event, subject_type=object_type, subject_id=after[key])
        for key, object_type in _subject_keys.items()
        if isinstance(after.get(key), int) and not isinstance(after.get(key), bool)
    ]


@dataclass(frozen=True)
class ObjectRef:
    """What an event is about when that is not a row: a sign-in attempt for an email address nobody has.

    `object_type` is named like a model label (`app.thing`); `object_id` is at most 64 characters.
    """

    object_type: str
    object_id: str

    def __post_init__(self):
        if len(self.object_type) > 64 or len(self.object_id) > 64:
            raise ValueError("an audited object's type and id are at most 64 characters each")


def _label(obj) -> tuple[str, str]:
    if isinstance(obj, ObjectRef):
        return obj.object_type, obj.object_id
    return obj._meta.label_lower, str(obj.pk)


def record(
    *, actor, action: str, obj, before: dict | None = None, after: dict | None = None, actor_label: str | None = None
) -> AuditEvent:
    """Append one event to the chain, about `obj`: a saved model instance, or an `ObjectRef`.

    Must run inside the caller's transaction so the event commits or rolls back with the
    change. Locking the chain head serialises writers: concurrent transactions produce one
    chain with no gaps and no forks.
    """
    entry = {"actor": actor, "action": action, "obj": obj, "before": before, "after": after}
    return record_many([{**entry, "actor_label": actor_label}])[0]


def record_many(entries: list[dict]) -> list[AuditEvent]:
    """Append several events (each given as `record`'s keyword arguments), locking the chain head once.

    For work done in batches (the sync engine records a batch's outcomes in one transaction):
    one lock, one insert and one head update, however many events.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must be called inside the transaction of the change it records")
    if not entries:
        return []
    try:
        head = AuditChainHead.objects.select_for_update().get(id=1)
    except AuditChainHead.DoesNotExist:  # the very first event of an installation
        AuditChainHead.objects.get_or_create(id=1)
        head = AuditChainHead.objects.select_for_update().get(id=1)
    events, seq, prev_hash, now, ip = [], head.last_seq, head.last_hash, timezone.now(), client_ip.get()
    for entry in entries:
        actor = entry.get("actor")
        object_type, object_id = _label(entry["obj"])
        seq += 1
        fields = {
            "seq": seq,
            "created_at": now,
            "actor_id": actor.pk if actor is not None else None,
            "actor_label": entry.get("actor_label") or (actor.email if actor is not None else "system"),
            "action": entry["action"],
            "object_type": object_type,
            "object_id": object_id,
            "before": entry.get("before"),
            "after": entry.get("after"),
            "ip": ip,
            "prev_hash": prev_hash,
        }
        event = AuditEvent(hash=event_hash(**fields), **fields)
        prev_hash = event.hash
        events.append(event)
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        AuditEvent.objects.bulk_create(events)
    subjects = [subject for event in events for subject in _subjects_of(event)]
    if subjects:
        AuditSubject.objects.bulk_create(subjects)
    head.last_seq, head.last_hash = seq, prev_hash
    head.save(update_fields=["last_seq", "last_hash"])
    return events
