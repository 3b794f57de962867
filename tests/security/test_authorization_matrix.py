"""Every URL, requested by every kind of person, against a table of what each may get.

A URL pattern without a row in EXPECTED fails the test: a new page or endpoint must say who
may reach it. Requests are GETs (state changes are POST-only, so a GET on one is 405 to those
who may reach it at all). The admin's hundreds of URLs are checked by one rule below. The objects
the URLs point at come from the `world` fixture (conftest.py).
"""

import os
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROLES = ["anonymous", "employee", "other_manager", "owner", "auditor", "admin"]

# anonymous, employee (Alice), another team's manager (Dave), entitlement owner (Carol),
# auditor (Frank: reads everything, changes nothing), governance admin (Erin)
PAGE = (302, 200, 200, 200, 200, 200)
POST_ONLY = (302, 405, 405, 405, 405, 405)
READERS_ONLY = (302, 403, 403, 403, 200, 200)  # governance admins and auditors
ADMIN_POST_ONLY = (302, 405, 405, 405, 405, 405)
API = (401, 200, 200, 200, 200, 200)
API_POST_ONLY = (401, 405, 405, 405, 405, 405)
API_READERS_ONLY = (401, 403, 403, 403, 200, 200)
PUBLIC = (200, 200, 200, 200, 200, 200)
SCIM = (401, 401, 401, 401, 401, 401)
CAMPAIGN_READERS = (302, 404, 404, 403, 200, 200)  # the fixture's campaign: Carol reviews in it
# Readiness answers everyone alike, signed in or not: 200 or 503 as the installation's workers and beat are
# (its row below is the healthy answer, which the other security tests read; this test accepts either).
VARIES = {"health-ready": {PUBLIC, (503, 503, 503, 503, 503, 503)}}

EXPECTED = {
    "home": PAGE,
    "healthz": PUBLIC,
    "health-live": PUBLIC,
    "health-ready": PUBLIC,
    # Prometheus metrics: off unless PORTAL_METRICS_TOKEN or PORTAL_METRICS_ALLOWED_NETWORKS is set, and then
    # for the token or those networks only, never for a session (tests/test_observability.py covers it on).
    "metrics": (404, 404, 404, 404, 404, 404),
    # allauth: signing in is public; people are provisioned, so sign-up is closed.
    "account_login": (200, 302, 302, 302, 302, 302),
    "account_logout": (302, 200, 200, 200, 200, 200),
    "account_inactive": (200, 200, 200, 200, 200, 200),
    "account_signup": (200, 302, 302, 302, 302, 302),
    "account_reauthenticate": (302, 200, 200, 200, 200, 200),
    "account_request_reauthentication_code": (302, 302, 302, 302, 302, 302),
    "account_confirm_reauthentication_code": (302, 302, 302, 302, 302, 302),
    "account_email": (302, 404, 404, 404, 404, 404),
    "account_email_verification_sent": (200, 200, 200, 200, 200, 200),
    "account_change_password": (302, 200, 200, 200, 200, 200),
    "account_set_password": (302, 302, 302, 302, 302, 302),
    "account_reset_password": (200, 200, 200, 200, 200, 200),
    "account_confirm_login_code": (302, 302, 302, 302, 302, 302),
    "account_confirm_email": (200, 200, 200, 200, 200, 200),
    "account_reset_password_from_key_done": (200, 200, 200, 200, 200, 200),
    "account_reset_password_from_key": (200, 200, 200, 200, 200, 200),
    "account_reset_password_done": (200, 200, 200, 200, 200, 200),
    # MFA (allauth): everyone signed in may see their second factors; adding or removing one first asks
    # to re-authenticate (302). Alice (an employee) has no app, so there is nothing of hers to remove.
    "mfa_index": PAGE,
    "mfa_authenticate": (302, 302, 302, 302, 302, 302),  # only during a sign-in, after the password
    "mfa_reauthenticate": (302, 302, 200, 200, 200, 200),  # Alice has no app: password re-authentication
    "mfa_activate_totp": (302, 302, 302, 302, 302, 302),
    "mfa_deactivate_totp": (302, 404, 302, 302, 302, 302),
    "mfa_view_recovery_codes": (302, 404, 404, 404, 404, 404),  # none generated in the fixture
    "mfa_generate_recovery_codes": (302, 302, 302, 302, 302, 302),
    "mfa_download_recovery_codes": (302, 404, 404, 404, 404, 404),
    "mfa_list_webauthn": PAGE,
    "mfa_add_webauthn": (302, 302, 302, 302, 302, 302),
    "mfa_reauthenticate_webauthn": (302, 302, 302, 302, 302, 302),
    "mfa_remove_webauthn": (302, 302, 302, 302, 302, 302),
    "mfa_edit_webauthn": (302, 302, 302, 302, 302, 302),
    # One's own API tokens: list, create (shown once), revoke (another person's token id is 404).
    "accounts:api_tokens": PAGE,
    "accounts:api_token_create": POST_ONLY,
    "accounts:api_token_revoke": POST_ONLY,
    # Single sign-on (allauth socialaccount): without an identity provider configured, as here, the
    # provider URLs are 404 (tests/accounts/test_sso_*.py cover them configured).
    "socialaccount_login_cancelled": PUBLIC,
    "socialaccount_login_error": (302, 401, 401, 401, 401, 401),  # allauth's own status for the error page
    "socialaccount_signup": (302, 302, 302, 302, 302, 302),
    "socialaccount_connections": PAGE,
    "openid_connect_login": (404, 404, 404, 404, 404, 404),
    "openid_connect_callback": (404, 404, 404, 404, 404, 404),
    "saml_acs": (302, 302, 302, 302, 302, 302),
    "saml_finish_acs": (404, 404, 404, 404, 404, 404),
    "saml_sls": (404, 404, 404, 404, 404, 404),
    "saml_metadata": (404, 404, 404, 404, 404, 404),
    "saml_login": (404, 404, 404, 404, 404, 404),
    # allauth's unnamed redirects from its old social URLs (keyed by path).
    "/accounts/social/login/cancelled/": (302, 301, 301, 301, 301, 301),
    "/accounts/social/login/error/": (302, 301, 301, 301, 301, 301),
    "/accounts/social/signup/": (302, 301, 301, 301, 301, 301),
    "/accounts/social/connections/": (302, 301, 301, 301, 301, 301),
    # API: token or session; objects the caller may not see are 404.
    "api:token": (405, 405, 405, 405, 405, 405),
    "api:schema": API,
    "api:docs": API,
    "api:api-root": API,
    "api:catalog-list": API,
    "api:catalog-detail": API,
    "api:request-list": API,
    "api:request-cart": API_POST_ONLY,
    "api:request-detail": (401, 200, 404, 404, 404, 404),
    "api:request-approve": API_POST_ONLY,
    "api:request-cancel": API_POST_ONLY,
    "api:request-deny": API_POST_ONLY,
    "api:approval-list": API,
    "api:approval-bulk": API_POST_ONLY,
    # Break glass: anyone may send one (the service refuses those not allowed for the entitlement, 403);
    # the reviews waiting for the caller, and deciding one (by its request's id).
    "api:break-glass-list": API_POST_ONLY,
    "api:break-glass-review-list": API,
    "api:break-glass-review-confirm": API_POST_ONLY,
    "api:break-glass-review-revoke": API_POST_ONLY,
    "api:grant-list": API,
    "api:grant-extend": API_POST_ONLY,
    "api:grant-give-back": API_POST_ONLY,
    "api:person-leaver": (401, 403, 403, 403, 403, 405),
    "api:sod-rule-list": API_READERS_ONLY,
    "api:sod-rule-dry-run": (401, 403, 403, 403, 405, 405),
    "api:sod-rule-detail": API_READERS_ONLY,
    "api:sod-violation-list": API,
    "api:review-campaign-list": API,
    # Carol reviews in the fixture's campaign; auditors and governance admins read every campaign.
    "api:review-campaign-items": (401, 404, 404, 200, 200, 200),
    "api:review-campaign-detail": (401, 404, 404, 200, 200, 200),
    "api:review-campaign-decide": API_POST_ONLY,
    "api:review-campaign-accept-recommendations": API_POST_ONLY,
    "api:review-campaign-launch": API_POST_ONLY,
    "api:review-campaign-preview": (401, 404, 404, 404, 200, 200),  # governance admins and auditors
    # Pages.
    "notifications:list": PAGE,
    "notifications:mark_all_read": POST_ONLY,
    "sod:violations": (302, 403, 200, 403, 200, 200),  # Dave owns a rule
    "sod:activity_findings": (302, 403, 200, 403, 200, 200),
    "sod:exceptions": (302, 403, 200, 403, 200, 200),
    # Governance → SoD rules: auditors read the list and the rules, governance admins change them.
    "sod:rules": READERS_ONLY,
    "sod:rule": READERS_ONLY,
    "sod:rule_new": (302, 403, 403, 403, 403, 200),
    "sod:rule_edit": (302, 403, 403, 403, 403, 200),
    "sod:rule_check_actions": (302, 403, 403, 403, 403, 200),
    "sod:rule_dry_run": POST_ONLY,
    "sod:rule_enabled": POST_ONLY,
    "iam:operations": READERS_ONLY,
    "iam:account": READERS_ONLY,
    "iam:reconcile_now": ADMIN_POST_ONLY,
    "iam:adopt": ADMIN_POST_ONLY,
    "iam:grant_history": READERS_ONLY,
    "iam:retry": ADMIN_POST_ONLY,
    "iam:read_activity": ADMIN_POST_ONLY,  # admins and the request's approvers (tests/iam/test_cloudtrail.py)
    # Governance → Entitlements: admins change, auditors read (the edit page without its controls).
    "access:entitlements": READERS_ONLY,
    "access:entitlement_edit": READERS_ONLY,
    "access:entitlement_stages": READERS_ONLY,
    "access:break_glass_eligibility": ADMIN_POST_ONLY,  # and 403 to a POST by anyone but governance admins
    # Import from AWS: the page and a run's progress for readers; starting one is an admin's POST.
    "iam:organization": READERS_ONLY,
    "iam:govern_ous": ADMIN_POST_ONLY,
    "iam:imports": READERS_ONLY,
    "iam:import_run": READERS_ONLY,
    "iam:start_import": ADMIN_POST_ONLY,
    "access:catalog": PAGE,
    "access:entitlement": PAGE,
    "access:request_new": PAGE,
    "access:break_glass": (302, 200, 403, 403, 403, 403),  # the fixture allows Alice alone to break glass
    "access:checkout": PAGE,
    "access:cart_add": POST_ONLY,
    "access:cart_remove": POST_ONLY,
    "access:my_requests": PAGE,
    "access:cancel": POST_ONLY,
    "access:my_access": PAGE,
    "access:give_back": POST_ONLY,
    "access:extend": (302, 200, 404, 404, 404, 404),  # only the holder extends their grant
    "access:inbox": PAGE,
    "access:bulk_decide": POST_ONLY,
    "access:approve": POST_ONLY,
    "access:deny": POST_ONLY,
    "access:review_confirm": POST_ONLY,
    "access:review_revoke": POST_ONLY,
    # Governance → People: governance admins and auditors read; only governance admins mark leavers.
    "access:people": READERS_ONLY,
    "access:person": READERS_ONLY,
    "access:leaver": (302, 403, 403, 403, 403, 200),  # the confirmation; its POST marks the leaver
    "access:retry_removal": ADMIN_POST_ONLY,
    "posture:index": READERS_ONLY,
    "posture:scorecard": READERS_ONLY,
    "posture:findings": READERS_ONLY,
    "posture:scan_now": ADMIN_POST_ONLY,
    "posture:deactivate_key": ADMIN_POST_ONLY,
    "posture:person": READERS_ONLY,
    "reviews:mine": PAGE,
    "reviews:queue": (302, 404, 404, 200, 200, 200),  # Carol reviews the items of what she owns; readers see all
    "reviews:decide": POST_ONLY,
    "reviews:reassign": POST_ONLY,
    # Its owner is Erin; Carol reviews in it, so she may see it but not these pages (403); to anyone
    # else it is as if it did not exist (404).
    "reviews:campaign": CAMPAIGN_READERS,
    "reviews:campaigns": READERS_ONLY,  # Governance → Access reviews
    "reviews:campaign_new": (302, 403, 403, 403, 403, 200),  # governance admins define campaigns
    "reviews:campaign_edit": (302, 403, 403, 403, 403, 302),  # the fixture's campaign is launched: to its page
    "reviews:campaign_preview": (302, 403, 403, 403, 302, 302),  # launched: to its page
    "reviews:launch": POST_ONLY,
    "reviews:sign_off": POST_ONLY,
    "reviews:evidence": CAMPAIGN_READERS,
    "reviews:evidence_pdf": CAMPAIGN_READERS,
    # Asking for a pack is a POST (auditors may: it changes nothing); following and downloading one, GETs.
    "reviews:evidence_request": POST_ONLY,
    "reviews:evidence_pack": CAMPAIGN_READERS,
    "reviews:evidence_download": CAMPAIGN_READERS,
    "audit:events": READERS_ONLY,
    "audit:event": READERS_ONLY,
    "audit:export": READERS_ONLY,
    "audit:checks": READERS_ONLY,
    "audit:pick_people": READERS_ONLY,
    "audit:pick_entitlements": READERS_ONLY,
    "audit:verify": POST_ONLY,  # and 403 to a POST by anyone but auditors and governance admins
    # SCIM provisioning answers an identity provider's bearer token only, never a session (tests/scim/).
    "scim:users": SCIM,
    "scim:user": SCIM,
    "scim:groups": SCIM,
    "scim:group": SCIM,
    "scim:service-provider-config": SCIM,
    "scim:schemas": SCIM,
    "scim:not-supported": SCIM,
    "scim:unknown": SCIM,
}


def patterns(resolver=None, namespace=None, prefix=""):
    resolver = resolver or get_resolver()
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            inner = ":".join(part for part in [namespace, item.namespace] if part) or None
            yield from patterns(item, inner, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            path = prefix + str(item.pattern)
            if item.name is None and namespace is None:  # cannot be reversed: its row is keyed by its path
                yield "/" + path, path
            else:
                yield (f"{namespace}:{item.name}" if namespace else item.name), path


def url_for(name: str, pattern: str, ids: dict, by_name: dict) -> str:
    if name.startswith("/"):
        return name
    if name in by_name:
        return reverse(name, kwargs={"pk": by_name[name]})
    if name == "scim:unknown":  # a catch-all pattern, not reversible
        return "/scim/v2/Nothing"
    if name == "account_confirm_email":
        return reverse(name, kwargs={"key": "not-a-key"})
    if name == "account_reset_password_from_key":
        return reverse(name, kwargs={"uidb36": "1", "key": "not-a-key"})
    kwargs = {key: value for key, value in ids.items() if f"<int:{key}>" in pattern or f"<id:{key}>" in pattern}
    kwargs.update({key: "idp" for key in ("provider_id", "organization_slug") if f"<{key}>" in pattern})
    kwargs.update({key: "1" for key in ("person_id", "group_id") if f"<str:{key}>" in pattern})
    return reverse(name, kwargs=kwargs)


def client_as(person, role: int = 0) -> Client:
    # An address per test run and role: the token endpoint's throttle counts per address on a cache
    # other test runs on this machine share, and must not see their requests as this run's.
    pid = os.getpid()
    client = Client(REMOTE_ADDR=f"10.{pid >> 8 & 255}.{pid & 255}.{role + 1}")
    if person is not None:
        client.force_login(person)
    return client


def test_every_url_answers_each_role_as_the_table_says(cast, world):
    ids, by_name = world
    people = [None, cast.alice, cast.dave, cast.carol, cast.frank, cast.erin]
    found, without_row, mismatches = set(), [], []
    for name, pattern in patterns():
        if name.startswith("admin:"):
            continue
        found.add(name)
        if name not in EXPECTED:
            without_row.append(f"{name} ({pattern})")
            continue
        url = url_for(name, pattern, ids, by_name)
        actual = tuple(client_as(person, role).get(url).status_code for role, person in enumerate(people))
        if actual not in VARIES.get(name, {EXPECTED[name]}):
            mismatches.append(f"{name} {url}: expected {EXPECTED[name]}, got {actual}")
    # Every problem at once: the URLs without a row in the table, and the answers that differ from it.
    assert {"without a row": without_row, "answered otherwise": mismatches} == {
        "without a row": [],
        "answered otherwise": [],
    }
    assert set(EXPECTED) - found == set(), "rows for URLs that no longer exist"


@pytest.mark.parametrize("who", ["anonymous", "employee", "owner", "auditor"])
def test_the_django_admin_is_for_staff_only(cast, world, who):
    person = {"anonymous": None, "employee": cast.alice, "owner": cast.carol, "auditor": cast.frank}[who]
    client = client_as(person)
    admin_urls = [
        pattern
        for name, pattern in patterns()
        if name.startswith("admin:")
        and "<" not in pattern
        and "(?P" not in pattern
        and name not in ("admin:login", "admin:logout")
    ]
    assert admin_urls
    for pattern in admin_urls:
        path = "/" + re.sub(r"[\^$]", "", pattern)
        response = client.get(path)
        assert response.status_code in (302, 404, 405), f"{path}: {response.status_code}"
        if response.status_code == 302:
            assert "/admin/login/" in response.url or "/accounts/login/" in response.url


def test_staff_reach_the_admin(cast, world):
    assert client_as(cast.erin).get("/admin/").status_code == 200
