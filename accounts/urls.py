from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/new/", views.create_api_token, name="api_token_create"),
    path("api-tokens/<id:token_id>/revoke/", views.revoke_api_token, name="api_token_revoke"),
]
