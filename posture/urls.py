from django.urls import path

from posture import views

app_name = "posture"
urlpatterns = [
    path("", views.index, name="index"),
    path("accounts/<id:account_id>/", views.scorecard, name="scorecard"),
    path("accounts/<id:account_id>/findings/", views.findings, name="findings"),
    path("accounts/<id:account_id>/scan/", views.scan_now, name="scan_now"),
    path("findings/<id:finding_id>/deactivate-key/", views.deactivate_key, name="deactivate_key"),
    path("people/<id:person_id>/", views.person_findings, name="person"),
]
