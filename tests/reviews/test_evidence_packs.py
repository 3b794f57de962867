"""Evidence packs built by a worker: asked for with a POST on the campaign page, followed with a progress
bar, stored, and downloaded by the people who may read the campaign, each download audited.

A 100,000-line PDF takes tens of seconds to lay out: no web process builds it any more. Only a small
campaign's links still build the pack in the request (PORTAL_EVIDENCE_INLINE_MAX_LINES).
"""

import csv
import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from access.models import Grant
from audit.models import AuditEvent
from outbox.models import OutboxMessage
from reviews import services
from reviews.models import Campaign, EvidencePack
from reviews.services import evidence_packs


@pytest.fixture
def launched(cast, sandbox):
    """Alice and Carol (no manager: Dave is the fallback) hold Developers; Bob reviews Alice's line."""
    for person in (cast.alice, cast.carol):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    campaign = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return services.launch(campaign_id=campaign.pk, actor=cast.erin)


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def ask(person, campaign, fmt: str):
    return as_person(person).post(reverse("reviews:evidence_request", args=[campaign.pk]), {"format": fmt})


def pack_url(pack, name="reviews:evidence_pack") -> str:
    return reverse(name, args=[pack.campaign_id, pack.pk])


def wait_until_finished(pack_id: int, seconds: float = 120) -> EvidencePack:
    deadline = time.monotonic() + seconds
    while (pack := EvidencePack.objects.get(pk=pack_id)).active:
        assert time.monotonic() < deadline, f"the pack is still {pack.status} after {seconds} s"
        time.sleep(0.2)
    return pack


def test_asking_queues_the_build_through_the_outbox_and_audits_the_request(cast, launched):
    response = ask(cast.erin, launched, "pdf")

    pack = EvidencePack.objects.get()
    assert response.status_code == 302 and response["Location"] == pack_url(pack)
    assert (pack.status, pack.format, pack.requested_by, pack.lines_total) == ("queued", "pdf", cast.erin, 2)
    assert list(OutboxMessage.objects.values_list("task_name", "args")) == [("reviews.build_evidence_pack", [pack.pk])]
    requested = AuditEvent.objects.get(action="review.evidence_requested")
    assert (requested.actor, requested.after) == (cast.erin, {"evidence_pack": pack.pk, "format": "pdf"})

    page = as_person(cast.erin).get(pack_url(pack)).content.decode()
    assert "Waiting for a worker to pick it up" in page
    assert f'hx-get="{pack_url(pack)}" hx-trigger="every 1s"' in page, "the page polls while it waits"


def test_a_second_click_follows_the_pack_already_being_built(cast, launched):
    first = ask(cast.erin, launched, "csv")
    second = ask(cast.frank, launched, "csv")

    assert first["Location"] == second["Location"]
    assert EvidencePack.objects.count() == 1
    assert ask(cast.erin, launched, "pdf").status_code == 302 and EvidencePack.objects.count() == 2, "one per format"


def test_a_pack_its_worker_never_finished_does_not_block_the_next(cast, launched):
    ask(cast.erin, launched, "pdf")
    EvidencePack.objects.update(requested_at=timezone.now() - timedelta(hours=2))

    ask(cast.erin, launched, "pdf")

    assert list(EvidencePack.objects.order_by("pk").values_list("status", flat=True)) == ["failed", "queued"]
    assert "No worker finished this pack in time" in EvidencePack.objects.order_by("pk").first().error


def test_a_pack_being_built_past_the_tasks_hard_limit_had_its_worker_killed(cast, launched, settings):
    settings.LONG_TASK_TIME_LIMIT = 600
    ask(cast.erin, launched, "pdf")
    EvidencePack.objects.update(status="running", started_at=timezone.now() - timedelta(minutes=5))
    ask(cast.erin, launched, "pdf")
    assert EvidencePack.objects.count() == 1, "still within the limit: the page follows the pack being built"

    EvidencePack.objects.update(started_at=timezone.now() - timedelta(minutes=12))
    ask(cast.erin, launched, "pdf")

    assert list(EvidencePack.objects.order_by("pk").values_list("status", flat=True)) == ["failed", "queued"]


def test_a_second_delivery_of_the_task_builds_nothing_twice(cast, launched):
    pack, _ = evidence_packs.request_pack(campaign_id=launched.pk, fmt="csv", actor=cast.erin)
    built = evidence_packs.build_pack(pack.pk)

    assert built.status == "ready" and built.size > 0
    assert evidence_packs.build_pack(pack.pk) is None


def test_only_those_who_may_read_the_campaign_ask_follow_or_download(cast, launched):
    """Bob and Dave review lines in it: they see the campaign, not its evidence (403). Alice and Carol:
    it does not exist (404). Frank, an auditor, reads it: asking for a pack changes nothing."""
    pack, _ = evidence_packs.request_pack(campaign_id=launched.pk, fmt="csv", actor=cast.erin)
    evidence_packs.build_pack(pack.pk)

    for person, status in ((cast.alice, 404), (cast.carol, 404), (cast.bob, 403), (cast.dave, 403)):
        client = as_person(person)
        answers = {
            "ask": client.post(reverse("reviews:evidence_request", args=[launched.pk]), {"format": "pdf"}).status_code,
            "follow": client.get(pack_url(pack)).status_code,
            "download": client.get(pack_url(pack, "reviews:evidence_download")).status_code,
        }
        assert answers == {"ask": status, "follow": status, "download": status}, person.email
    assert Client().get(pack_url(pack, "reviews:evidence_download")).status_code == 302, "to sign in"
    assert EvidencePack.objects.count() == 1
    assert not AuditEvent.objects.filter(action="review.evidence_downloaded").exists()

    assert ask(cast.frank, launched, "pdf").status_code == 302
    assert as_person(cast.frank).get(pack_url(pack, "reviews:evidence_download")).status_code == 200


def test_a_pack_is_reached_only_through_its_own_campaign_and_only_when_ready(cast, sandbox, launched):
    other = Campaign.objects.create(name="Other", owner=cast.erin, due_at=timezone.now() + timedelta(days=7))
    pack, _ = evidence_packs.request_pack(campaign_id=launched.pk, fmt="csv", actor=cast.erin)
    erin = as_person(cast.erin)

    assert erin.get(reverse("reviews:evidence_pack", args=[other.pk, pack.pk])).status_code == 404
    assert erin.get(pack_url(pack, "reviews:evidence_download")).status_code == 404, "not built yet"
    assert erin.get(reverse("reviews:evidence_pack", args=[launched.pk, pack.pk + 1000])).status_code == 404
    assert erin.post(reverse("reviews:evidence_request", args=[launched.pk]), {"format": "xlsx"}).status_code == 400
    assert erin.post(reverse("reviews:evidence_request", args=[other.pk]), {"format": "pdf"}).status_code == 400, (
        "a draft has no evidence"
    )
    assert erin.get(reverse("reviews:evidence_request", args=[launched.pk])).status_code == 405


def test_a_large_campaign_is_never_laid_out_in_the_request(cast, launched, settings):
    settings.EVIDENCE_INLINE_MAX_LINES = 1
    erin = as_person(cast.erin)

    for name in ("reviews:evidence", "reviews:evidence_pdf"):
        response = erin.get(reverse(name, args=[launched.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("reviews:campaign", args=[launched.pk]) + "#evidence"
    page = erin.get(reverse("reviews:campaign", args=[launched.pk])).content.decode()
    assert "Build the PDF pack" in page
    assert reverse("reviews:evidence_pdf", args=[launched.pk]) not in page, "no link that would only redirect"


@pytest.mark.django_db(transaction=True)
def test_the_worker_builds_the_pack_the_page_offers_it_and_the_download_is_audited(cast, launched, celery_worker):
    erin = as_person(cast.erin)

    asked = erin.post(reverse("reviews:evidence_request", args=[launched.pk]), {"format": "pdf"}, follow=True)

    assert asked.status_code == 200
    pack = wait_until_finished(EvidencePack.objects.get().pk)
    assert pack.status == "ready", pack.error
    assert (pack.lines_done, pack.percent) == (2, 100)
    fragment = erin.get(pack_url(pack), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment, "polling stops once it is ready"
    assert pack_url(pack, "reviews:evidence_download") in fragment
    campaign_page = erin.get(reverse("reviews:campaign", args=[launched.pk])).content.decode()
    assert pack_url(pack, "reviews:evidence_download") in campaign_page

    download = erin.get(pack_url(pack, "reviews:evidence_download"))

    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == f'attachment; filename="review-{launched.pk}-evidence-{pack.pk}.pdf"'
    assert "no-cache" in download["Cache-Control"]
    document = b"".join(download.streaming_content)
    assert len(document) == pack.size
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)
    assert "Q4 review" in text and "for Erin" in text
    downloaded = AuditEvent.objects.get(action="review.evidence_downloaded")
    assert (downloaded.actor, downloaded.after["evidence_pack"]) == (cast.erin, pack.pk)

    # The CSV, built by the worker, is the same file the small campaign's link streams.
    erin.post(reverse("reviews:evidence_request", args=[launched.pk]), {"format": "csv"})
    csv_pack = wait_until_finished(EvidencePack.objects.get(format="csv").pk)
    stored = b"".join(erin.get(pack_url(csv_pack, "reviews:evidence_download")).streaming_content).decode()
    streamed = b"".join(erin.get(reverse("reviews:evidence", args=[launched.pk])).streaming_content).decode()
    assert list(csv.reader(io.StringIO(stored))) == list(csv.reader(io.StringIO(streamed)))
    assert AuditEvent.objects.filter(action="review.evidence_downloaded").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_pack_that_cannot_be_stored_fails_with_the_reason_on_the_page(cast, launched, celery_worker):
    """The evidence store is broken: where the packs' folder should be, there is a file."""
    folder = Path(storages["evidence"].location) / "evidence"
    moved = folder.with_name("evidence-kept") if folder.is_dir() else None
    if moved:
        folder.rename(moved)
    folder.write_text("not a folder")
    try:
        as_person(cast.erin).post(reverse("reviews:evidence_request", args=[launched.pk]), {"format": "csv"})
        pack = wait_until_finished(EvidencePack.objects.get().pk)
    finally:
        folder.unlink()
        if moved:
            moved.rename(folder)

    assert pack.status == "failed"
    assert pack.error.startswith("The pack could not be built (the evidence store refused the file: "), pack.error
    assert str(folder) not in pack.error, "no server paths on the page"
    page = as_person(cast.erin).get(pack_url(pack)).content.decode()
    assert pack.error in page and "Evidence pack progress" not in page
    assert as_person(cast.erin).get(pack_url(pack, "reviews:evidence_download")).status_code == 404
