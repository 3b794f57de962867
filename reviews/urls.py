from django.urls import path

from reviews import campaign_views, evidence_views, views

app_name = "reviews"
urlpatterns = [
    path("", views.my_reviews, name="mine"),
    path("<id:campaign_id>/", views.review_queue, name="queue"),
    path("<id:campaign_id>/decide/", views.decide, name="decide"),
    path("items/<id:item_id>/reassign/", views.reassign, name="reassign"),
    path("campaigns/", campaign_views.campaigns, name="campaigns"),
    path("campaigns/new/", campaign_views.campaign_new, name="campaign_new"),
    path("campaigns/<id:campaign_id>/edit/", campaign_views.campaign_edit, name="campaign_edit"),
    path("campaigns/<id:campaign_id>/preview/", campaign_views.campaign_preview, name="campaign_preview"),
    path("campaigns/<id:campaign_id>/", views.campaign_detail, name="campaign"),
    path("campaigns/<id:campaign_id>/launch/", views.launch, name="launch"),
    path("campaigns/<id:campaign_id>/sign-off/", views.sign_off, name="sign_off"),
    path("campaigns/<id:campaign_id>/evidence.csv", evidence_views.evidence_csv, name="evidence"),
    path("campaigns/<id:campaign_id>/evidence.pdf", evidence_views.evidence_pdf, name="evidence_pdf"),
    path("campaigns/<id:campaign_id>/evidence/", evidence_views.request_pack, name="evidence_request"),
    path("campaigns/<id:campaign_id>/evidence/<id:pack_id>/", evidence_views.evidence_pack, name="evidence_pack"),
    path(
        "campaigns/<id:campaign_id>/evidence/<id:pack_id>/download",
        evidence_views.download_pack,
        name="evidence_download",
    ),
]
