"""Anchors: signed digests of the chain, kept outside the database where the portal can only add.

The hash chain shows that rows were edited, removed or reordered, unless whoever edits them recomputes
every hash after the edit and the head as well, as a database administrator can. So every so often
(beat, `audit.anchor_chain`) the chain's head is written out as a digest: its seq and hash, the time,
a short hash of every row since the previous digest, and the hash of the previous digest, signed with
the portal's Ed25519 key. The digest carries its public key, so anyone can check its signature with
that key alone; `verify_audit` also insists it is this portal's key.

Digests go to a store the portal can only add to: a directory (each file created with O_EXCL, then
made read-only), or an S3 bucket with object lock, each object written only if the key is new and
locked in COMPLIANCE mode. `audit` is the lowest layer and never talks to AWS: `iam` registers the
bucket store at start-up (iam/aws/audit_anchors.py), and `anchor_store()` picks it when
`AUDIT_ANCHOR_BUCKET` is set.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from audit.chain import HASHED, canonical_json, find_first_break
from audit.models import AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)

# What the hash covers, plus the row id to name a broken row. Plain rows instead of model
# instances: building a model per event was a third of the time over a million events.
CHAIN_FIELDS = ("id", *HASHED, "prev_hash", "hash")
# Rows fetched per round trip of the server-side cursor (PostgreSQL) or fetchmany (SQLite):
# memory stays flat whatever the length of the chain.
CHUNK_SIZE = 5000

VERSION = 1
# Each row since the previous digest is kept as the first 16 hex digits of its hash: enough to name
# the first row that differs (the head's full hash, signed, is what proves the rest).
ROW_PREFIX = 16
SIGNED_FIELDS = ("version", "seq", "hash", "anchored_at", "from_seq", "row_hashes", "previous_digest", "public_key")


class AnchorExists(Exception):
    """The store already holds a digest of that name: it is never overwritten."""


class AnchorRefused(Exception):
    """The chain does not hold where a new digest would start: anchoring it would bless a rewrite."""


class AnchorStore(Protocol):
    """Where digests live. Add-only: `write` refuses a name already there (AnchorExists)."""

    def write(self, name: str, body: bytes) -> None: ...

    def names(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...


class DirectoryAnchorStore:
    """Digests as files in one directory: created exclusively, then read-only."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def write(self, name: str, body: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            raise AnchorExists(name) from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(entry.name for entry in self.directory.iterdir() if entry.name.endswith(".json"))

    def read(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()


_bucket_store: Callable[[str, str], AnchorStore] | None = None


def register_bucket_store(factory: Callable[[str, str], AnchorStore]) -> None:
    """Called by `iam` at start-up: how to reach an S3 bucket (bucket, prefix) -> store."""
    global _bucket_store
    _bucket_store = factory


def anchor_store() -> AnchorStore:
    if settings.AUDIT_ANCHOR_BUCKET:
        if _bucket_store is None:
            raise RuntimeError("PORTAL_AUDIT_ANCHOR_BUCKET is set but the iam app, which writes to S3, is not loaded.")
        return _bucket_store(settings.AUDIT_ANCHOR_BUCKET, settings.AUDIT_ANCHOR_PREFIX)
    return DirectoryAnchorStore(settings.AUDIT_ANCHOR_DIR)


# --- keys and signatures ---------------------------------------------------------------------------


def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.AUDIT_ANCHOR_KEY))


def _public_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def portal_public_key() -> str:
    """This portal's anchor key, public half (base64 of its 32 raw bytes): what digests must carry."""
    return _public_text(_private_key().public_key())


def _signed_bytes(content: dict) -> bytes:
    return canonical_json({name: content[name] for name in SIGNED_FIELDS}).encode()


def digest_name(seq: int) -> str:
    return f"audit-anchor-{seq:020d}.json"


@dataclass(frozen=True)
class Digest:
    name: str
    seq: int
    hash: str
    anchored_at: str
    from_seq: int
    row_hashes: str
    previous_digest: str
    body_hash: str  # sha256 of the stored bytes: what the next digest names as its previous

    def row_prefix(self, seq: int) -> str:
        offset = (seq - self.from_seq) * ROW_PREFIX
        return self.row_hashes[offset : offset + ROW_PREFIX]


class DigestInvalid(Exception):
    pass


def trusted_public_keys() -> set[str]:
    """This portal's anchor key, and the earlier ones it replaced (AUDIT_ANCHOR_PREVIOUS_KEYS)."""
    return {portal_public_key(), *settings.AUDIT_ANCHOR_PREVIOUS_KEYS}


def parse_digest(name: str, body: bytes, *, public_keys: set[str]) -> Digest:
    """A stored digest, its signature checked against the key it carries, which must be one of `public_keys`."""
    try:
        content = json.loads(body)
        if not isinstance(content, dict):
            raise ValueError
    except ValueError:
        raise DigestInvalid(f"{name} is not a readable digest") from None
    if not content.get("signature"):
        raise DigestInvalid(f"{name} is not signed")
    if any(name_ not in content for name_ in SIGNED_FIELDS):
        raise DigestInvalid(f"{name} lacks some of a digest's fields")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(content["public_key"], validate=True))
        key.verify(base64.b64decode(content["signature"], validate=True), _signed_bytes(content))
    except (ValueError, TypeError, InvalidSignature):
        raise DigestInvalid(f"{name}'s signature does not match its contents (altered after it was signed)") from None
    if content["public_key"] not in public_keys:
        raise DigestInvalid(f"{name} is signed by a key that is not this portal's anchor key")
    seq, from_seq, rows = content["seq"], content["from_seq"], content["row_hashes"]
    if not (
        isinstance(seq, int)
        and isinstance(from_seq, int)
        and isinstance(rows, str)
        and 1 <= from_seq <= seq
        and len(rows) == (seq - from_seq + 1) * ROW_PREFIX
        and name == digest_name(seq)
    ):
        raise DigestInvalid(f"{name} is signed but malformed")
    return Digest(
        name=name,
        seq=seq,
        hash=content["hash"],
        anchored_at=content["anchored_at"],
        from_seq=from_seq,
        row_hashes=rows,
        previous_digest=content["previous_digest"],
        body_hash=hashlib.sha256(body).hexdigest(),
    )


@dataclass
class Anchors:
    """The valid digests of a store in seq order, and what was wrong with the others."""

    digests: list[Digest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._ends = [digest.seq for digest in self.digests]

    @property
    def last_seq(self) -> int:
        return self.digests[-1].seq if self.digests else 0

    def covering(self, seq: int) -> Digest | None:
        index = bisect.bisect_left(self._ends, seq)
        if index < len(self.digests) and self.digests[index].from_seq <= seq:
            return self.digests[index]
        return None


def load_anchors(store: AnchorStore | None = None, *, strict: bool = False) -> Anchors:
    """Every digest in the store, checked. A store that cannot be read is reported as a problem, or with
    `strict` (anchoring, which must know the last digest to continue from) raised."""
    store = store or anchor_store()
    public_keys = trusted_public_keys()
    digests, problems = [], []
    try:
        names = store.names()
    except Exception as unreachable:  # an S3 error typed in iam, an OSError: whatever it is, say so
        if strict:
            raise
        return Anchors([], [f"the anchor store could not be read ({unreachable})"])
    for name in names:
        try:
            digests.append(parse_digest(name, store.read(name), public_keys=public_keys))
        except DigestInvalid as invalid:
            problems.append(str(invalid))
        except Exception as unreadable:  # one unreadable object must not hide the others
            if strict:
                raise
            problems.append(f"{name} could not be read ({unreadable})")
    digests.sort(key=lambda digest: digest.seq)
    previous = None
    for digest in digests:
        if previous is None:
            follows = digest.previous_digest == "" and digest.from_seq == 1
        else:
            follows = digest.previous_digest == previous.body_hash and digest.from_seq == previous.seq + 1
        if not follows:
            problems.append(f"{digest.name} does not follow the digest before it (one was removed or replaced)")
        previous = digest
    return Anchors(digests, problems)


# --- anchoring ----------------------------------------------------------------------------------------


def chain_rows(first_seq: int, last_seq: int):
    """The events from `first_seq` to `last_seq` in seq order, streamed as plain rows."""
    return (
        AuditEvent.objects.filter(seq__gte=first_seq, seq__lte=last_seq)
        .order_by("seq")
        .values_list(*CHAIN_FIELDS, named=True)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _window_holds(last: Digest | None, head: AuditChainHead) -> None:
    """The rows a new digest would cover must continue the chain from the last digest: else refuse."""
    start_seq, start_hash = (last.seq + 1, last.hash) if last else (1, "")
    if last is not None:
        anchored = AuditEvent.objects.filter(seq=last.seq).values_list("hash", flat=True).first()
        if anchored != last.hash:
            raise AnchorRefused(f"event #{last.seq} no longer matches {last.name}")
    broken = find_first_break(
        chain_rows(start_seq, head.last_seq), head.last_seq, head.last_hash, start_seq=start_seq, start_hash=start_hash
    )
    if broken is not None:
        raise AnchorRefused(f"the chain does not hold at event #{broken.seq}: {broken.reason}")


def anchor_chain(store: AnchorStore | None = None) -> Digest | None:
    """Write a signed digest of the chain's head, unless it is already anchored. None when nothing was new."""
    store = store or anchor_store()
    head = AuditChainHead.objects.filter(id=1).first()
    anchors = load_anchors(store, strict=True)
    last = anchors.digests[-1] if anchors.digests else None
    if head is None or head.last_seq == (last.seq if last else 0):
        return None
    if last is not None and head.last_seq < last.seq:
        raise AnchorRefused(f"the chain ends at #{head.last_seq} but #{last.seq} was anchored")
    _window_holds(last, head)
    from_seq = last.seq + 1 if last else 1
    hashes = (
        AuditEvent.objects.filter(seq__gte=from_seq, seq__lte=head.last_seq)
        .order_by("seq")
        .values_list("hash", flat=True)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    private_key = _private_key()
    public_key = _public_text(private_key.public_key())
    content = {
        "version": VERSION,
        "seq": head.last_seq,
        "hash": head.last_hash,
        "anchored_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "from_seq": from_seq,
        "row_hashes": "".join(row_hash[:ROW_PREFIX] for row_hash in hashes),
        "previous_digest": last.body_hash if last else "",
        "public_key": public_key,
    }
    content["signature"] = base64.b64encode(private_key.sign(_signed_bytes(content))).decode()
    body = json.dumps(content, sort_keys=True, indent=1).encode()
    name = digest_name(head.last_seq)
    try:
        store.write(name, body)
    except AnchorExists:  # another run anchored the same head first
        return None
    logger.info("Audit chain anchored at #%s (%s)", head.last_seq, name)
    return parse_digest(name, body, public_keys={public_key})
