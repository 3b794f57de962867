from django.urls import path

from iam import views

app_name = "iam"
urlpatterns = [
    path("", views.operations, name="operations"),
    path("accounts/<id:account_id>/", views.account_detail, name="account"),
    path("accounts/<id:account_id>/reconcile/", views.reconcile_now, name="reconcile_now"),
    path("drift/<id:unmanaged_id>/adopt/", views.adopt, name="adopt"),
    path("grants/<id:grant_id>/", views.grant_history, name="grant_history"),
    path("grants/<id:grant_id>/retry/", views.retry, name="retry"),
]
