"""Downloading a campaign's evidence pack as PDF (the CSV is in reviews/views.py)."""

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from reviews.evidence_pdf import build, unicode_font
from reviews.models import Campaign
from reviews.views import readable


@never_cache  # who holds what access: no shared or browser cache keeps a copy
@require_GET
def evidence_pdf(request, campaign_id):
    campaigns = Campaign.objects.select_related("owner", "fallback_reviewer", "signed_off_by")
    campaign = readable(request, campaign_id, campaigns)
    document = build(campaign, generated_by=request.user, now=timezone.now(), font=unicode_font())
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="review-{campaign.pk}-evidence.pdf"'
    return response
