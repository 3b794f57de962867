from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from portal import metrics, views
from portal.health import probes

# The admin signs in through the portal's own login (rate limits, the second factor), never its own form.
# Replacing the one site's bound method is how allauth documents it (the stubs forbid assigning to methods).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", views.home, name="home"),
    # Answered by portal.health.middleware before host validation and the HTTPS redirect; named here for reverse().
    path("health/live", probes.view("live"), name="health-live"),
    path("health/ready", probes.view("ready"), name="health-ready"),
    path("healthz", probes.view("live"), name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Before allauth's own: people do not manage their email addresses here (see the view).
    path("accounts/email/", views.email_managed_elsewhere, name="account_email"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    # SCIM 2.0 provisioning from Okta and Entra, with a bearer token per identity provider (docs/provisioning.md).
    path("scim/v2/", include("scim.urls")),
    path("notifications/", include("notifications.urls")),
    path("sod/", include("sod.urls")),
    path("reviews/", include("reviews.urls")),
    path("operations/", include("iam.urls")),
    path("posture/", include("posture.urls")),
    path("audit/", include("audit.urls")),
    path("", include("access.urls")),
]

handler400 = "portal.views.error_400"
handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"
