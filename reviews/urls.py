from django.urls import path

from reviews import evidence_views, views

app_name = "reviews"
urlpatterns = [
    path("", views.my_reviews, name="mine"),
    path("<id:campaign_id>/", views.review_queue, name="queue"),
    path("<id:campaign_id>/decide/", views.decide, name="decide"),
    path("items/<id:item_id>/reassign/", views.reassign, name="reassign"),
    path("campaigns/<id:campaign_id>/", views.campaign_detail, name="campaign"),
    path("campaigns/<id:campaign_id>/launch/", views.launch, name="launch"),
    path("campaigns/<id:campaign_id>/sign-off/", views.sign_off, name="sign_off"),
    path("campaigns/<id:campaign_id>/evidence.csv", views.evidence, name="evidence"),
    path("campaigns/<id:campaign_id>/evidence.pdf", evidence_views.evidence_pdf, name="evidence_pdf"),
]
