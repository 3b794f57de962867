"""The hash chain: how an event's hash is computed, and how the chain is checked."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

# One encoder for every event: json.dumps would build a new one per call (a tenth of a
# verification's time over a million events). Same output as json.dumps with these arguments.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(value) -> str:
    return _CANONICAL.encode(value)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    *, seq, created_at, actor_id, actor_label, action, object_type, object_id, before, after, ip, prev_hash
) -> str:
    payload = canonical_json(
        {
            "seq": seq,
            "created_at": _timestamp(created_at),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "before": before,
            "after": after,
            "ip": ip,
        }
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


HASHED = ("seq", "created_at", "actor_id", "actor_label", "action", "object_type", "object_id", "before", "after", "ip")


def hash_of(event) -> str:
    """The hash `event` (an AuditEvent, or a row with the same attributes) should carry."""
    return event_hash(prev_hash=event.prev_hash, **{name: getattr(event, name) for name in HASHED})


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str


def _as_anchored(event, digest) -> bool:
    """The row's hash starts as the digest recorded it (and is the digest's head hash, at its seq)."""
    if event.seq == digest.seq:
        return event.hash == digest.hash
    return event.hash.startswith(digest.row_prefix(event.seq))


def find_first_break(
    events, head_seq: int, head_hash: str, *, start_seq: int = 1, start_hash: str = "", anchors=None
) -> ChainBreak | None:
    """Walk events in seq order from `start_seq` (whose predecessor's hash is `start_hash`); return the first
    place where the chain does not hold.

    With `anchors` (audit.anchoring.Anchors: the digests kept outside the database), each row is also compared
    with what was anchored for its seq, so a chain rewritten whole, every hash recomputed, is still caught at
    its first rewritten row; and rows anchored but gone are named.
    """
    expected_seq, prev_hash = start_seq, start_hash
    for event in events:
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, None, f"event #{expected_seq} is missing (next found is #{event.seq})")
        if event.prev_hash != prev_hash:
            return ChainBreak(
                event.seq,
                event.id,
                "its link to the previous event does not match (reordered or a row before it was removed)",
            )
        recomputed = hash_of(event)
        if recomputed != event.hash:
            return ChainBreak(event.seq, event.id, "its contents were edited after it was written")
        digest = anchors.covering(event.seq) if anchors is not None else None
        if digest is not None and not _as_anchored(event, digest):
            return ChainBreak(
                event.seq,
                event.id,
                f"it differs from what {digest.name} anchored outside the database on {digest.anchored_at} "
                "(the row was rewritten and the chain recomputed)",
            )
        expected_seq, prev_hash = event.seq + 1, event.hash
    if anchors is not None and anchors.last_seq > expected_seq - 1:
        return ChainBreak(
            expected_seq,
            None,
            f"events up to #{anchors.last_seq} were anchored outside the database but the chain ends at "
            f"#{expected_seq - 1} (rows removed and the chain rewritten)",
        )
    if expected_seq - 1 != head_seq or prev_hash != head_hash:
        return ChainBreak(
            expected_seq,
            None,
            f"the chain ends at #{expected_seq - 1} but #{head_seq} was written (trailing rows removed)",
        )
    return None
