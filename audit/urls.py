from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("events/<id:event_id>/", views.event_detail, name="event"),
    path("export.csv", views.export, name="export"),
    path("verify/", views.verify, name="verify"),
    path("checks/", views.checks, name="checks"),
    path("pick/people/", views.pick, {"kind": "person"}, name="pick_people"),
    path("pick/entitlements/", views.pick, {"kind": "entitlement"}, name="pick_entitlements"),
]
