from django.urls import path

from iam import import_views, organization_views, views

app_name = "iam"
urlpatterns = [
    path("", views.operations, name="operations"),
    path("accounts/<id:account_id>/", views.account_detail, name="account"),
    path("accounts/<id:account_id>/reconcile/", views.reconcile_now, name="reconcile_now"),
    path("organization/", organization_views.organization, name="organization"),
    path("organization/govern/", organization_views.govern, name="govern_ous"),
    path("imports/", import_views.import_page, name="imports"),
    path("imports/<id:run_id>/", import_views.import_run, name="import_run"),
    path("accounts/<id:account_id>/import/", import_views.start_import, name="start_import"),
    path("drift/<id:unmanaged_id>/adopt/", views.adopt, name="adopt"),
    path("grants/<id:grant_id>/", views.grant_history, name="grant_history"),
    path("grants/<id:grant_id>/retry/", views.retry, name="retry"),
    path("grants/<id:grant_id>/activity/", views.read_activity, name="read_activity"),
]
