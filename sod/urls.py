from django.urls import path

from sod import views

app_name = "sod"
urlpatterns = [
    path("violations/", views.violations, name="violations"),
    path("exceptions/", views.exceptions, name="exceptions"),
]
