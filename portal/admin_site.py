"""The Django admin's site: Django's own, with the list of every app and model built only where it is shown.

`AdminSite.each_context` builds that list (`get_app_list`: a URL reverse and a permission check per model,
some sixty of them) for every admin page, for the sidebar; the sidebar is off (`enable_nav_sidebar`), so
on a 25-row list it was a quarter of the page's Python for nothing. The list is now built when a template
reads it: the admin's index and an app's index, which show it.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.utils.functional import SimpleLazyObject


class PortalAdminSite(AdminSite):
    # No sidebar listing every model on every admin page: it was a tenth of each 25-row list's rendering
    # (issue 21), and the breadcrumbs and the admin's index lead to the same places.
    enable_nav_sidebar = False

    def get_app_list(self, request, app_label=None):
        return SimpleLazyObject(lambda: AdminSite.get_app_list(self, request, app_label))


class PortalAdminConfig(AdminConfig):
    """Django's admin app (in INSTALLED_APPS in its place), on the site above."""

    default_site = "portal.admin_site.PortalAdminSite"
