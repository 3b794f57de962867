"""Anchors: signed digests of the chain's head outside the database, which the portal can only add to.

A database administrator can rewrite rows and recompute every hash after them and the head: the chain
then holds by itself. The digests anchored before the rewrite do not match it, and `verify_audit` names
the first rewritten row. Tampered, unsigned or foreign digests are reported. On PostgreSQL the rewrite is
done as the superuser the tests run as, with the append-only triggers switched off for the session.
"""

import base64
import json
import os
import stat

import pytest
import requests as http
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from access import services
from audit import anchoring
from audit.anchoring import AnchorExists, AnchorRefused, DirectoryAnchorStore, anchor_chain, anchor_store
from audit.chain import event_hash, find_first_break
from audit.models import AuditChainHead, AuditEvent, ChainCheck
from audit.services import record
from audit.verification import run_check, verify_chain
from iam.aws.errors import PermanentAwsError
from portal.env import env_signing_key
from tests.audit.test_verify_audit import GOOD_REASON, tamper, verify

HASHED = ("seq", "created_at", "actor_id", "actor_label", "action", "object_type", "object_id", "before", "after", "ip")


@pytest.fixture
def chain(cast, sandbox):
    """Four events: a request, its approval step, its approval, and the desired grant."""
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    return list(AuditEvent.objects.order_by("seq"))


def more_events(person, count: int) -> None:
    with transaction.atomic():
        for _ in range(count):
            record(actor=person, action="test.more", obj=person)


def rewrite_from(seq: int, **changes) -> None:
    """What a database administrator can do: change row `seq`, then recompute its hash, every later row's
    link and hash, and the chain's head, so the chain holds by itself again."""
    prev_hash = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else ""
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        fields = {name: getattr(event, name) for name in HASHED}
        if event.seq == seq:
            fields.update(changes)
        new_hash = event_hash(prev_hash=prev_hash, **fields)
        tamper(
            "UPDATE audit_auditevent SET actor_label = %s, action = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [fields["actor_label"], fields["action"], prev_hash, new_hash, event.seq],
        )
        prev_hash = new_hash
    tamper("UPDATE audit_auditchainhead SET last_hash = %s WHERE id = 1", [prev_hash])


def chain_alone_holds() -> bool:
    """The rows checked against themselves only, as verify_audit did before anchors."""
    head = AuditChainHead.objects.get(id=1)
    return find_first_break(AuditEvent.objects.order_by("seq"), head.last_seq, head.last_hash) is None


def stored(settings) -> list:
    return sorted(settings.AUDIT_ANCHOR_DIR.iterdir())


def test_anchoring_writes_a_signed_digest_of_the_head_that_its_public_key_alone_verifies(chain, settings):
    digest = anchor_chain()

    (path,) = stored(settings)
    content = json.loads(path.read_bytes())
    head = AuditChainHead.objects.get(id=1)
    assert (digest.seq, content["seq"], content["hash"]) == (4, 4, head.last_hash)
    assert (content["from_seq"], content["previous_digest"]) == (1, "")
    public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(content["public_key"]))
    signed = {name: content[name] for name in anchoring.SIGNED_FIELDS}
    public_key.verify(
        base64.b64decode(content["signature"]),
        json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
    )
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), "written read-only"
    assert verify_chain().describe() == "Audit chain intact: 4 events verified. Checked against its anchors up to #4."


def test_the_next_digest_names_the_previous_one_and_nothing_new_writes_nothing(chain, cast, settings):
    first = anchor_chain()
    assert anchor_chain() is None, "the head has not moved"
    more_events(cast.alice, 3)

    second = anchor_chain()

    assert (second.from_seq, second.seq, second.previous_digest) == (5, 7, first.body_hash)
    assert len(stored(settings)) == 2
    assert verify() == "intact"


def test_the_directory_store_never_overwrites_a_digest(chain, settings):
    digest = anchor_chain()
    store = DirectoryAnchorStore(settings.AUDIT_ANCHOR_DIR)
    before = store.read(digest.name)

    with pytest.raises(AnchorExists):
        store.write(digest.name, b'{"forged": true}')

    assert store.read(digest.name) == before


def test_a_rewritten_chain_with_recomputed_hashes_fails_against_the_anchors_naming_the_first_altered_row(
    chain, cast, settings
):
    anchor_chain()
    more_events(cast.alice, 2)
    anchor_chain()

    rewrite_from(2, actor_label="mallory@example.com", action="approval.approved")

    assert chain_alone_holds(), "every hash recomputed: the rows alone cannot tell"
    assert verify() == (
        f"Audit chain broken at event #2 (row id {chain[1].id}): it differs from what "
        f"audit-anchor-00000000000000000004.json anchored outside the database on "
        f"{json.loads(stored(settings)[0].read_bytes())['anchored_at']} "
        "(the row was rewritten and the chain recomputed)."
    )


def test_a_rewrite_after_the_last_anchor_is_named_at_its_row(chain, cast):
    anchor_chain()
    more_events(cast.alice, 3)  # #5 to #7, anchored
    anchor_chain()

    rewrite_from(6, action="grant.admin_granted")

    assert verify().startswith(f"Audit chain broken at event #6 (row id {AuditEvent.objects.get(seq=6).pk}): ")


def test_anchored_rows_removed_with_the_head_moved_back_are_named(chain):
    anchor_chain()
    tamper("DELETE FROM audit_auditevent WHERE seq > 2", [])
    tamper("UPDATE audit_auditchainhead SET last_seq = 2, last_hash = %s WHERE id = 1", [chain[1].hash])

    assert chain_alone_holds()
    assert verify() == (
        "Audit chain broken at event #3: events up to #4 were anchored outside the database but the chain "
        "ends at #2 (rows removed and the chain rewritten)."
    )


def test_anchoring_refuses_to_bless_a_chain_that_does_not_hold(chain):
    tamper("UPDATE audit_auditevent SET actor_label = %s WHERE seq = 3", ["mallory@example.com"])

    with pytest.raises(AnchorRefused, match="event #3"):
        anchor_chain()


def _rewrite_digest_file(path, change) -> None:
    content = json.loads(path.read_bytes())
    change(content)
    os.chmod(path, 0o644)
    path.write_text(json.dumps(content))


def test_a_tampered_digest_is_reported(chain, settings):
    anchor_chain()
    (path,) = stored(settings)
    # Whoever rewrote the rows now tries to make the digest agree with them.
    _rewrite_digest_file(path, lambda content: content.update(hash="0" * 64))

    assert verify() == (
        "Audit chain rows hold, but its anchors do not. Anchor store: audit-anchor-00000000000000000004.json's "
        "signature does not match its contents (altered after it was signed)."
    )


def test_an_unsigned_digest_is_reported(chain, settings):
    anchor_chain()
    (path,) = stored(settings)
    _rewrite_digest_file(path, lambda content: content.pop("signature"))

    assert "Anchor store: audit-anchor-00000000000000000004.json is not signed." in verify()


def test_a_digest_signed_with_another_key_is_reported(chain, settings):
    """Re-signing a forged digest needs the portal's private key; one's own key is told apart."""
    anchor_chain()
    (path,) = stored(settings)
    forger = Ed25519PrivateKey.generate()

    def forge(content):
        content["hash"] = "0" * 64
        content["public_key"] = base64.b64encode(forger.public_key().public_bytes_raw()).decode()
        signed = {name: content[name] for name in anchoring.SIGNED_FIELDS}
        canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        content["signature"] = base64.b64encode(forger.sign(canonical)).decode()

    _rewrite_digest_file(path, forge)

    assert "is signed by a key that is not this portal's anchor key" in verify()


def test_a_removed_digest_is_reported_by_the_one_after_it(chain, cast, settings):
    anchor_chain()
    more_events(cast.alice, 1)
    anchor_chain()
    first = stored(settings)[0]
    os.chmod(first, 0o644)
    first.unlink()

    assert "audit-anchor-00000000000000000005.json does not follow the digest before it" in verify()


def test_the_background_chain_check_uses_the_anchors(chain, cast):
    anchor_chain()
    rewrite_from(3, actor_label="mallory@example.com")
    check = ChainCheck.objects.create(requested_by=cast.frank)

    check = run_check(check.pk)

    assert (check.intact, check.broken_seq, check.broken_event_id) == (False, 3, chain[2].id)
    assert "anchored outside the database" in check.outcome


def test_beat_anchors_the_chain_every_interval(settings):
    from portal.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["anchor-audit-chain"]

    assert entry["task"] == "audit.anchor_chain" and entry["task"] in app.tasks
    assert entry["schedule"] == 3600.0


def test_the_anchor_task_writes_a_digest(chain, settings):
    from audit.tasks import anchor_chain as task

    assert task.apply().get() == 4
    assert len(stored(settings)) == 1


# --- the signing key -----------------------------------------------------------------------------


def test_the_signing_key_is_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_AUDIT_ANCHOR_KEY", raising=False)
    key_file = tmp_path / "audit_anchor_key"

    key = env_signing_key("PORTAL_AUDIT_ANCHOR_KEY", key_file)

    assert len(base64.b64decode(key)) == 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert env_signing_key("PORTAL_AUDIT_ANCHOR_KEY", key_file) == key


def test_a_malformed_signing_key_stops_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_AUDIT_ANCHOR_KEY", "not-a-key")

    with pytest.raises(ImproperlyConfigured, match="PORTAL_AUDIT_ANCHOR_KEY must be 32 bytes in base64"):
        env_signing_key("PORTAL_AUDIT_ANCHOR_KEY", tmp_path / "unused")


# --- an S3 bucket with object lock, through iam ---------------------------------------------------


@pytest.fixture
def anchor_bucket(moto_server, settings):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    http.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    s3.create_bucket(Bucket="portal-audit-anchors", ObjectLockEnabledForBucket=True)
    settings.AUDIT_ANCHOR_BUCKET = "portal-audit-anchors"
    return s3


def test_anchors_go_to_an_object_locked_bucket_and_are_checked_from_there(chain, anchor_bucket, settings):
    digest = anchor_chain()

    key = f"audit-anchors/{digest.name}"
    head = anchor_bucket.head_object(Bucket="portal-audit-anchors", Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > timezone.now()
    assert not settings.AUDIT_ANCHOR_DIR.exists(), "nothing written to the directory store"

    rewrite_from(2, actor_label="mallory@example.com")

    assert verify().startswith(f"Audit chain broken at event #2 (row id {chain[1].id}): it differs from what")


def test_the_bucket_store_never_overwrites_and_the_lock_refuses_deletion(chain, anchor_bucket):
    digest = anchor_chain()
    key = f"audit-anchors/{digest.name}"

    with pytest.raises(AnchorExists):
        anchor_store().write(digest.name, b'{"forged": true}')

    version = anchor_bucket.head_object(Bucket="portal-audit-anchors", Key=key)["VersionId"]
    with pytest.raises(anchor_bucket.exceptions.ClientError, match="AccessDenied"):
        anchor_bucket.delete_object(Bucket="portal-audit-anchors", Key=key, VersionId=version)
    assert anchor_store().read(digest.name) != b'{"forged": true}'
    assert verify() == "intact"


def test_a_bucket_without_object_lock_is_refused(chain, moto_server, settings):
    import boto3

    http.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1").create_bucket(Bucket="plain-bucket")
    settings.AUDIT_ANCHOR_BUCKET = "plain-bucket"

    with pytest.raises(PermanentAwsError, match="ObjectLockConfiguration"):
        anchor_chain()


def test_an_unreachable_anchor_store_is_reported_and_nothing_is_anchored(chain, moto_server, settings):
    http.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    settings.AUDIT_ANCHOR_BUCKET = "no-such-bucket"

    assert verify() == (
        "Audit chain rows hold, but its anchors do not. Anchor store: the anchor store could not be read "
        "(AWS refused (NoSuchBucket): The specified bucket does not exist)."
    )
    with pytest.raises(PermanentAwsError, match="NoSuchBucket"):
        anchor_chain()


def test_digests_signed_with_a_replaced_key_count_once_its_public_key_is_listed(chain, settings):
    old_public_key = anchoring.portal_public_key()
    anchor_chain()
    settings.AUDIT_ANCHOR_KEY = base64.b64encode(b"a-new-anchor-key-of-32-bytes-abc").decode()

    assert "is signed by a key that is not this portal's anchor key" in verify()
    settings.AUDIT_ANCHOR_PREVIOUS_KEYS = [old_public_key]
    assert verify() == "intact"
