"""Reads for the audit pages: the event list, one event with its context, and the export."""

from dataclasses import dataclass
from itertools import islice
from types import SimpleNamespace

from django.db.models import QuerySet

from audit.chain import canonical_json, hash_of
from audit.models import AuditEvent, ChainCheck
from audit.subjects import describe_events

HISTORY_SHOWN = 20
EXPORT_COLUMNS = [
    "seq",
    "created_at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "ip",
    "before",
    "after",
    "prev_hash",
    "hash",
]
# After the hashed columns, so scripts reading the export by position keep working.
EXPORT_HEADER = [*EXPORT_COLUMNS, "object_name"]
EXPORT_CHUNK = 2000  # rows read, then named, at a time: a few queries per chunk, constant memory


def events() -> QuerySet[AuditEvent]:
    """Newest first, with the acting person for their name."""
    return AuditEvent.objects.select_related("actor").order_by("-seq")


# What the log's list shows of an event and its actor, and `after`, by which a campaign's decisions name
# their lines: not the before state nor the hashes (kilobytes of JSON a row, decoded for nothing), which
# only an event's own page shows.
LISTED = ["seq", "created_at", "actor_label", "action", "object_type", "object_id", "ip", "after"]
ACTOR_NAMED_BY = ["actor__full_name", "actor__email"]  # str(person)


def listed_events() -> QuerySet[AuditEvent]:
    return events().only(*LISTED, *ACTOR_NAMED_BY)


def export_rows(filtered: QuerySet[AuditEvent]):
    """The filtered events as CSV rows in chain order, streamed from the database in chunks, each
    chunk's objects named in words in one batch per object type."""
    rows = filtered.select_related(None).order_by("seq").values_list(*EXPORT_COLUMNS).iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(islice(rows, EXPORT_CHUNK)):
        named = describe_events(
            SimpleNamespace(seq=row[0], action=row[3], object_type=row[4], object_id=row[5], after=row[8])
            for row in chunk
        )
        for (seq, created_at, actor, action, object_type, object_id, ip, before, after, prev_hash, hash_), event in zip(
            chunk, named, strict=True
        ):
            yield [
                seq,
                created_at.isoformat(),
                actor,
                action,
                object_type,
                object_id,
                ip or "",
                "" if before is None else canonical_json(before),
                "" if after is None else canonical_json(after),
                prev_hash,
                hash_,
                event.subject.text,
            ]


@dataclass(frozen=True)
class FieldChange:
    """One field of an event's state; None where the field is absent on that side."""

    name: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before == self.after:
            return "same"
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"


def _shown(value) -> str:
    return value if isinstance(value, str) else canonical_json(value)


def changes(before, after) -> list[FieldChange]:
    """Before and after side by side, one line per field, in name order. A state that is not an
    object is shown as a single `value` line; an absent state (creation, deletion) as no fields."""

    def as_fields(state) -> dict:
        if state is None:
            return {}
        return state if isinstance(state, dict) else {"value": state}

    old, new = as_fields(before), as_fields(after)
    return [
        FieldChange(name, _shown(old[name]) if name in old else None, _shown(new[name]) if name in new else None)
        for name in sorted(set(old) | set(new))
    ]


@dataclass(frozen=True)
class EventIntegrity:
    contents_match: bool
    linked_to_previous: bool


def integrity_of(event: AuditEvent, previous_hash: str | None) -> EventIntegrity:
    """This event alone: does its hash still cover its contents, and does it point at the event before it?
    (`manage.py verify_audit` checks the whole chain.)"""
    recomputed = hash_of(event)
    expected_prev = "" if event.seq == 1 else previous_hash
    return EventIntegrity(recomputed == event.hash, expected_prev is not None and expected_prev == event.prev_hash)


def event_page(event: AuditEvent) -> dict:
    """What the event page shows besides the event: the diff, its integrity, its neighbours in the
    chain and the object's recent history, and the object in words. A few queries whatever the size of the trail."""
    neighbours = {
        seq: (pk, hash_)
        for seq, pk, hash_ in AuditEvent.objects.filter(seq__in=[event.seq - 1, event.seq + 1]).values_list(
            "seq", "id", "hash"
        )
    }
    previous, following = neighbours.get(event.seq - 1), neighbours.get(event.seq + 1)
    history = list(
        events().filter(object_type=event.object_type, object_id=event.object_id).exclude(pk=event.pk)[:HISTORY_SHOWN]
    )
    describe_events([event])
    return {
        "changes": changes(event.before, event.after),
        "integrity": integrity_of(event, previous[1] if previous else None),
        "previous_id": previous[0] if previous else None,
        "next_id": following[0] if following else None,
        "history": history,
    }


def latest_checks(limit: int = 5) -> list[ChainCheck]:
    return list(ChainCheck.objects.select_related("requested_by")[:limit])
