"""Evidence packs built by a worker: asked for on the campaign page, built off the request, downloaded.

A 100,000-line PDF takes tens of seconds to lay out: built in the request it held a web process for all
that time (one auditor's click stalled the portal). Now the page asks for a pack (`request_pack`, audited
`review.evidence_requested`), a background worker builds it (`build_pack`) writing its progress on the
`EvidencePack` row, which the page polls, and stores the file through Django's storage API
(settings.STORAGES["evidence"]: a folder, or S3). Downloading it (`record_download`) is audited
`review.evidence_downloaded`, so the trail shows who took the evidence away, not only who asked for it.

Who may: the same people who may read the whole campaign (its owner, governance admins, auditors).
"""

import csv
import io
import logging
import tempfile
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.roles import reads_everything
from audit.csv_export import spreadsheet_safe
from audit.services import record
from inputs.refusals import InvalidInput, NotAllowed
from outbox.services import enqueue
from reviews import evidence, evidence_pdf
from reviews.models import Campaign, EvidencePack

logger = logging.getLogger(__name__)

BUILD_TASK = "reviews.build_evidence_pack"
REQUESTED_ACTION = "review.evidence_requested"
DOWNLOADED_ACTION = "review.evidence_downloaded"
# A pack waiting or being built this long had its worker die (the long task limit is 60 minutes).
STALE_AFTER = timedelta(minutes=90)
# The row's progress is written every this many lines: a short update, outside any transaction.
PROGRESS_EVERY = 1000


def may_read(campaign: Campaign, user: User) -> bool:
    return user is not None and (user.pk == campaign.owner_id or reads_everything(user))


def request_pack(*, campaign_id: int, fmt: str, actor: User) -> tuple[EvidencePack, bool]:
    """Queue a pack of the campaign in `fmt`, or return the one already waiting or being built (and False).

    The row is created, the request audited and the task queued in one transaction (outbox.enqueue)."""
    if fmt not in EvidencePack.Format.values:
        raise InvalidInput("Choose CSV or PDF.")
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise InvalidInput("That campaign does not exist.")
    if not may_read(campaign, actor):
        raise NotAllowed("Only the campaign's owner, governance admins and auditors take its evidence.")
    if campaign.snapshot_at is None:
        raise InvalidInput("The campaign has not been launched: it has no evidence yet.")
    _close_stale(campaign, fmt)
    try:
        with transaction.atomic():
            pack = EvidencePack.objects.create(
                campaign=campaign, format=fmt, requested_by=actor, lines_total=campaign.population_count
            )
            record(actor=actor, action=REQUESTED_ACTION, obj=campaign, after={"evidence_pack": pack.pk, "format": fmt})
            enqueue(BUILD_TASK, pack.pk)
    except IntegrityError:  # one is already waiting or being built: follow that one
        building = EvidencePack.objects.filter(campaign=campaign, format=fmt, status__in=EvidencePack.ACTIVE).first()
        if building is None:  # it finished in between: ask again
            return request_pack(campaign_id=campaign_id, fmt=fmt, actor=actor)
        return building, False
    pack.refresh_from_db()  # a worker may already have started it
    return pack, True


def _close_stale(campaign: Campaign, fmt: str) -> None:
    """A pack its worker never finished (killed, lost message) must not block the next one for ever: one
    waiting past STALE_AFTER, or being built for longer than the task's hard limit (its process is gone)."""
    now = timezone.now()
    killed_before = now - timedelta(seconds=settings.LONG_TASK_TIME_LIMIT + 60)
    EvidencePack.objects.filter(
        Q(requested_at__lt=now - STALE_AFTER) | Q(status=EvidencePack.Status.RUNNING, started_at__lt=killed_before),
        campaign=campaign,
        format=fmt,
        status__in=EvidencePack.ACTIVE,
    ).update(
        status=EvidencePack.Status.FAILED,
        finished_at=timezone.now(),
        error="No worker finished this pack in time; it was given up. Ask for another one.",
    )


def build_pack(pack_id: int) -> EvidencePack | None:
    """The worker's side: claim the pack, write it with progress, store the file, record the outcome.

    Returns None when there is nothing to do (already built or failed, or gone: a second delivery of the
    task). Any error closes the pack as failed with words for the page, and is raised again for the log."""
    claimed = EvidencePack.objects.filter(pk=pack_id, status=EvidencePack.Status.QUEUED).update(
        status=EvidencePack.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    pack = EvidencePack.objects.select_related("campaign", "requested_by").get(pk=pack_id)
    mine = EvidencePack.objects.filter(pk=pack_id, status=EvidencePack.Status.RUNNING)

    def progress(done: int) -> None:
        mine.update(lines_done=done)

    try:
        with tempfile.TemporaryFile() as scratch:
            if pack.format == EvidencePack.Format.PDF:
                _write_pdf(pack, scratch, progress)
            else:
                _write_csv(pack, scratch, progress)
            size = scratch.tell()
            scratch.seek(0)
            stored = pack.file.storage.save(f"evidence/{pack.filename}", File(scratch, name=pack.filename))
    except SoftTimeLimitExceeded:
        minutes = settings.LONG_TASK_SOFT_TIME_LIMIT // 60
        _fail(
            pack_id,
            f"The pack took longer than the {minutes} minutes a worker may spend on it. Tell an administrator.",
        )
        raise
    except OSError as exc:  # the store (a folder, a bucket) refused it: its words, without paths or hosts
        words = exc.strerror or type(exc).__name__
        _fail(pack_id, f"The pack could not be built (the evidence store refused the file: {words}). Try again later.")
        raise
    except Exception as exc:
        logger.exception("Evidence pack %s of campaign %s failed", pack_id, pack.campaign_id)
        _fail(pack_id, f"The pack could not be built ({type(exc).__name__}). Ask for another one.")
        raise
    mine.update(
        status=EvidencePack.Status.READY,
        finished_at=timezone.now(),
        lines_done=pack.lines_total,
        file=stored,
        size=size,
    )
    return EvidencePack.objects.get(pk=pack_id)


def _fail(pack_id: int, words: str) -> None:
    EvidencePack.objects.filter(pk=pack_id, status__in=EvidencePack.ACTIVE).update(
        status=EvidencePack.Status.FAILED, finished_at=timezone.now(), error=words[:2000]
    )


def _counting(items, progress):
    for done, item in enumerate(items, start=1):
        yield item
        if done % PROGRESS_EVERY == 0:
            progress(done)


def _write_csv(pack: EvidencePack, out, progress) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(evidence.HEADER)
    for row in _counting(evidence.rows(pack.campaign), progress):
        writer.writerow([spreadsheet_safe(value) for value in row])
    text.flush()
    text.detach()  # the scratch file stays open for the caller


def _write_pdf(pack: EvidencePack, out, progress) -> None:
    campaign = Campaign.objects.select_related("owner", "fallback_reviewer", "signed_off_by").get(pk=pack.campaign_id)
    document = evidence_pdf.build(
        campaign,
        generated_by=pack.requested_by,
        now=timezone.now(),
        font=evidence_pdf.unicode_font(),
        progress=lambda done: progress(done) if done % PROGRESS_EVERY == 0 else None,
    )
    out.write(document)


def record_download(*, pack: EvidencePack, actor: User) -> None:
    """An evidence pack handed to someone: audited on the campaign. The caller checked who may."""
    if not may_read(pack.campaign, actor) or pack.status != EvidencePack.Status.READY:
        raise NotAllowed("Only the campaign's owner, governance admins and auditors take its evidence.")
    with transaction.atomic():
        record(
            actor=actor,
            action=DOWNLOADED_ACTION,
            obj=pack.campaign,
            after={"evidence_pack": pack.pk, "format": pack.format, "size": pack.size},
        )
