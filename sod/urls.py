from django.urls import path

from sod import rule_views, views

app_name = "sod"
urlpatterns = [
    path("violations/", views.violations, name="violations"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("done-together/", views.activity_findings, name="activity_findings"),
    path("rules/", rule_views.rules_list, name="rules"),
    path("rules/new/", rule_views.rule_new, name="rule_new"),
    path("rules/check-actions/", rule_views.check_actions, name="rule_check_actions"),
    path("rules/dry-run/", rule_views.dry_run, name="rule_dry_run"),
    path("rules/<id:rule_id>/", rule_views.rule_detail, name="rule"),
    path("rules/<id:rule_id>/edit/", rule_views.rule_edit, name="rule_edit"),
    path("rules/<id:rule_id>/enabled/", rule_views.rule_enabled, name="rule_enabled"),
]
