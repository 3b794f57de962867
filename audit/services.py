"""Writing to the audit trail. Call `record` inside the transaction of the change it describes."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit.chain import event_hash
from audit.context import client_ip
from audit.models import AuditChainHead, AuditEvent


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
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must be called inside the transaction of the change it records")
    try:
        head = AuditChainHead.objects.select_for_update().get(id=1)
    except AuditChainHead.DoesNotExist:  # the very first event of an installation
        AuditChainHead.objects.get_or_create(id=1)
        head = AuditChainHead.objects.select_for_update().get(id=1)
    object_type, object_id = _label(obj)
    fields = {
        "seq": head.last_seq + 1,
        "created_at": timezone.now(),
        "actor_id": actor.pk if actor is not None else None,
        "actor_label": actor_label or (actor.email if actor is not None else "system"),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "ip": client_ip.get(),
        "prev_hash": head.last_hash,
    }
    event = AuditEvent.objects.create(hash=event_hash(**fields), **fields)
    head.last_seq, head.last_hash = event.seq, event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return event
