from django.urls import path

from access.views import approvals, break_glass, catalog, entitlements, grants, people, requests

app_name = "access"
urlpatterns = [
    path("catalog/", catalog.catalog, name="catalog"),
    path("catalog/<id:entitlement_id>/", catalog.entitlement_detail, name="entitlement"),
    path("catalog/<id:entitlement_id>/request/", catalog.request_new, name="request_new"),
    path("catalog/<id:entitlement_id>/break-glass/", break_glass.break_glass, name="break_glass"),
    path("cart/", catalog.checkout, name="checkout"),
    path("cart/add/<id:entitlement_id>/", catalog.cart_add, name="cart_add"),
    path("cart/remove/<id:entitlement_id>/", catalog.cart_remove, name="cart_remove"),
    path("requests/", requests.my_requests, name="my_requests"),
    path("requests/<id:request_id>/cancel/", requests.cancel, name="cancel"),
    path("access/", grants.my_access, name="my_access"),
    path("access/<id:grant_id>/give-back/", grants.give_back, name="give_back"),
    path("access/<id:grant_id>/extend/", grants.extend, name="extend"),
    path("approvals/", approvals.inbox, name="inbox"),
    path("approvals/bulk/", approvals.bulk_decide, name="bulk_decide"),
    path("approvals/<id:request_id>/approve/", approvals.decide, {"decision": "approve"}, name="approve"),
    path("approvals/<id:request_id>/deny/", approvals.decide, {"decision": "deny"}, name="deny"),
    # The after-the-fact review of a break glass, by its request's id.
    path(
        "approvals/<id:request_id>/confirm-break-glass/",
        break_glass.review_decide,
        {"decision": "confirm"},
        name="review_confirm",
    ),
    path(
        "approvals/<id:request_id>/revoke-break-glass/",
        break_glass.review_decide,
        {"decision": "revoke"},
        name="review_revoke",
    ),
    # Governance → Entitlements (the catalog console)
    path("entitlements/", entitlements.entitlements, name="entitlements"),
    path("entitlements/<id:entitlement_id>/", entitlements.entitlement_edit, name="entitlement_edit"),
    path("entitlements/<id:entitlement_id>/stages/", entitlements.entitlement_stages, name="entitlement_stages"),
    path(
        "entitlements/<id:entitlement_id>/break-glass/",
        entitlements.break_glass_eligibility,
        name="break_glass_eligibility",
    ),
    # Governance → People
    path("people/", people.people, name="people"),
    path("people/<id:person_id>/", people.person, name="person"),
    path("people/<id:person_id>/leaver/", people.leaver, name="leaver"),
    path("people/<id:person_id>/removals/<id:grant_id>/retry/", people.retry_removal, name="retry_removal"),
]
