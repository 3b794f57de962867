from django.urls import path

from reviews import evidence_views, views

app_name = "reviews"
urlpatterns = [
    path("", views.my_reviews, name="mine"),
    path("<int:campaign_id>/", views.review_queue, name="queue"),
    path("<int:campaign_id>/decide/", views.decide, name="decide"),
    path("items/<int:item_id>/reassign/", views.reassign, name="reassign"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:campaign_id>/launch/", views.launch, name="launch"),
    path("campaigns/<int:campaign_id>/sign-off/", views.sign_off, name="sign_off"),
    path("campaigns/<int:campaign_id>/evidence.csv", views.evidence, name="evidence"),
    path("campaigns/<int:campaign_id>/evidence.pdf", evidence_views.evidence_pdf, name="evidence_pdf"),
]
