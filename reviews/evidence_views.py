"""Downloading a campaign's evidence pack as PDF (the CSV is in reviews/views.py)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.roles import reads_everything
from reviews.evidence_pdf import build, unicode_font
from reviews.models import Campaign


def _evidence_reader(request, campaign_id) -> Campaign:
    """The campaign, for its owner, governance admins and auditors; anyone else may not (403), none is 404."""
    campaign = get_object_or_404(
        Campaign.objects.select_related("owner", "fallback_reviewer", "signed_off_by"), pk=campaign_id
    )
    if request.user.pk != campaign.owner_id and not reads_everything(request.user):
        raise PermissionDenied
    return campaign


@never_cache  # who holds what access: no shared or browser cache keeps a copy
@require_GET
def evidence_pdf(request, campaign_id):
    campaign = _evidence_reader(request, campaign_id)
    document = build(campaign, generated_by=request.user, now=timezone.now(), font=unicode_font())
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="review-{campaign.pk}-evidence.pdf"'
    return response
