from django.urls import path, re_path

from scim import views

app_name = "scim"

# RFC 7644's endpoints the portal does not offer: 501 (before Users/<id>, which would take ".search").
NOT_SUPPORTED = views.NotSupportedView.as_view(status=501)

urlpatterns = [
    path("Bulk", NOT_SUPPORTED, name="not-supported"),
    path("Me", NOT_SUPPORTED, name="not-supported"),
    path(".search", NOT_SUPPORTED, name="not-supported"),
    path("Users/.search", NOT_SUPPORTED, name="not-supported"),
    path("Groups/.search", NOT_SUPPORTED, name="not-supported"),
    path("Users", views.UsersView.as_view(), name="users"),
    path("Users/<str:person_id>", views.UsersView.as_view(), name="user"),
    path("Groups", views.GroupsView.as_view(), name="groups"),
    path("Groups/<str:group_id>", views.GroupsView.as_view(), name="group"),
    path("ServiceProviderConfig", views.ServiceProviderConfigView.as_view(), name="service-provider-config"),
    path("Schemas", views.SchemasView.as_view(), name="schemas"),
    # Anything else under /scim/v2/: a SCIM 404 (to a caller with a token), not the portal's HTML page.
    re_path(r"^.*$", views.NotSupportedView.as_view(), name="unknown"),
]
