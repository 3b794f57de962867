from django.urls import path

from access import views

app_name = "access"
urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/<int:entitlement_id>/request/", views.request_new, name="request_new"),
    path("requests/", views.my_requests, name="my_requests"),
    path("access/", views.my_access, name="my_access"),
    path("approvals/", views.inbox, name="inbox"),
    path("approvals/<int:request_id>/approve/", views.decide, {"decision": "approve"}, name="approve"),
    path("approvals/<int:request_id>/deny/", views.decide, {"decision": "deny"}, name="deny"),
]
