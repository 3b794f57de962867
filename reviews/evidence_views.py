"""A campaign's evidence packs: asked for with a POST, built by a worker, followed, downloaded.

The pack of a campaign of any size is built by a background worker (reviews.services.evidence_packs): the
page that asked follows its progress (htmx polls the fragment every second) and offers the stored file
when it is ready. Only a small campaign's pack is still built in the request (the older GET links, up to
EVIDENCE_INLINE_MAX_LINES lines, well under a second): a larger one is never laid out by a web process.

Everything here is for those who may read the whole campaign (reviews.access_rules.readable: its
owner, governance admins and auditors; its reviewers 403, anyone else 404). Asking for a pack is reading, so an
auditor may (it changes nothing but the audit trail, which records the request and each download).
"""

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.csv_export import streamed_csv
from inputs.refusal_pages import access_or_error_page, refusals_as_page
from inputs.refusals import Refusal
from reviews.access_rules import readable
from reviews.evidence import HEADER
from reviews.evidence import rows as evidence_rows
from reviews.evidence_pdf import build, unicode_font
from reviews.models import Campaign, EvidencePack
from reviews.services import evidence_packs


def _too_large(request, campaign: Campaign, fmt: str):
    """A campaign too large to lay out in a request: the person is sent to ask for the pack on its page."""
    if campaign.population_count <= settings.EVIDENCE_INLINE_MAX_LINES:
        return None
    messages.info(
        request,
        f"{campaign.name} has {campaign.population_count} lines: build the {fmt.upper()} pack below; "
        "a worker builds it and this page offers it when it is ready.",
    )
    return redirect(reverse("reviews:campaign", args=[campaign.pk]) + "#evidence")


@never_cache  # who holds what access: no shared or browser cache keeps a copy
@require_GET
def evidence_csv(request, campaign_id):
    campaign = access_or_error_page(readable, request.user, campaign_id)
    return _too_large(request, campaign, "csv") or streamed_csv(
        HEADER, evidence_rows(campaign), f"review-{campaign.pk}-evidence.csv"
    )


@never_cache
@require_GET
def evidence_pdf(request, campaign_id):
    campaigns = Campaign.objects.select_related("owner", "fallback_reviewer", "signed_off_by")
    campaign = access_or_error_page(readable, request.user, campaign_id, campaigns)
    too_large = _too_large(request, campaign, "pdf")
    if too_large:
        return too_large
    document = build(campaign, generated_by=request.user, now=timezone.now(), font=unicode_font())
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="review-{campaign.pk}-evidence.pdf"'
    return response


@require_POST
@refusals_as_page
def request_pack(request, campaign_id):
    campaign = access_or_error_page(readable, request.user, campaign_id)
    pack, started = evidence_packs.request_pack(
        campaign_id=campaign.pk, fmt=request.POST.get("format", ""), actor=request.user
    )
    if not started:
        messages.info(request, f"A {pack.get_format_display()} pack was already being built: here is its progress.")
    return redirect("reviews:evidence_pack", campaign_id=campaign.pk, pack_id=pack.pk)


def _pack_of(request, campaign_id, pack_id) -> EvidencePack:
    campaign = access_or_error_page(readable, request.user, campaign_id)
    pack = get_object_or_404(EvidencePack.objects.select_related("requested_by"), pk=pack_id, campaign=campaign)
    pack.campaign = campaign
    return pack


@never_cache
@require_GET
def evidence_pack(request, campaign_id, pack_id):
    """A pack's progress; htmx asks for the fragment alone every second while it is being built."""
    pack = _pack_of(request, campaign_id, pack_id)
    template = "reviews/_evidence_pack.html" if request.headers.get("HX-Request") else "reviews/evidence_pack.html"
    return render(request, template, {"pack": pack, "campaign": pack.campaign})


@never_cache  # who holds what access: no shared or browser cache keeps a copy
@require_GET
@refusals_as_page
def download_pack(request, campaign_id, pack_id):
    """The stored file, for those who may read the campaign; each download is audited."""
    pack = _pack_of(request, campaign_id, pack_id)
    if pack.status != EvidencePack.Status.READY or not pack.file:
        raise Http404("This pack is not ready.")
    try:
        stored = pack.file.open("rb")
    except FileNotFoundError:
        raise Http404("This pack's file is no longer in the evidence store: ask for another one.") from None
    try:
        evidence_packs.record_download(pack=pack, actor=request.user)
    except Refusal:
        stored.close()
        raise
    content_type = "application/pdf" if pack.format == EvidencePack.Format.PDF else "text/csv"
    return FileResponse(stored, as_attachment=True, filename=pack.filename, content_type=content_type)
