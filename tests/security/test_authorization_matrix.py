"""Every URL, requested by every kind of person, against a table of what each may get.

A URL pattern without a row in EXPECTED fails the test: a new page or endpoint must say who
may reach it. Requests are GETs (state changes are POST-only, so a GET on one is 405 to those
who may reach it at all). The admin's hundreds of URLs are checked by one rule below.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from access import services
from access.models import Grant
from iam.models import UnmanagedAccess
from posture.models import PostureFinding
from reviews import services as review_services
from reviews.models import Campaign
from sod.models import SodRule

ROLES = ["anonymous", "employee", "other_manager", "owner", "admin"]
GOOD_REASON = "Deploying the billing service for the Q4 release"

# anonymous, employee (Alice), another team's manager (Dave), entitlement owner (Carol), governance admin (Erin)
PAGE = (302, 200, 200, 200, 200)
POST_ONLY = (302, 405, 405, 405, 405)
ADMIN_ONLY = (302, 403, 403, 403, 200)
ADMIN_POST_ONLY = (302, 405, 405, 405, 405)
API = (401, 200, 200, 200, 200)
API_POST_ONLY = (401, 405, 405, 405, 405)
API_ADMIN_ONLY = (401, 403, 403, 403, 200)
PUBLIC = (200, 200, 200, 200, 200)

EXPECTED = {
    "home": PAGE,
    "healthz": PUBLIC,
    # allauth: signing in is public; people are provisioned, so sign-up is closed.
    "account_login": (200, 302, 302, 302, 302),
    "account_logout": (302, 200, 200, 200, 200),
    "account_inactive": (200, 200, 200, 200, 200),
    "account_signup": (200, 302, 302, 302, 302),
    "account_reauthenticate": (302, 200, 200, 200, 200),
    "account_request_reauthentication_code": (302, 302, 302, 302, 302),
    "account_confirm_reauthentication_code": (302, 302, 302, 302, 302),
    "account_email": (302, 200, 200, 200, 200),
    "account_email_verification_sent": (200, 200, 200, 200, 200),
    "account_change_password": (302, 200, 200, 200, 200),
    "account_set_password": (302, 302, 302, 302, 302),
    "account_reset_password": (200, 200, 200, 200, 200),
    "account_confirm_login_code": (302, 302, 302, 302, 302),
    "account_confirm_email": (200, 200, 200, 200, 200),
    "account_reset_password_from_key_done": (200, 200, 200, 200, 200),
    "account_reset_password_from_key": (200, 200, 200, 200, 200),
    "account_reset_password_done": (200, 200, 200, 200, 200),
    # API: token or session; objects the caller may not see are 404.
    "api:token": (405, 405, 405, 405, 405),
    "api:schema": API,
    "api:docs": API,
    "api:api-root": API,
    "api:catalog-list": API,
    "api:catalog-detail": API,
    "api:request-list": API,
    "api:request-cart": API_POST_ONLY,
    "api:request-detail": (401, 200, 404, 404, 404),
    "api:request-approve": API_POST_ONLY,
    "api:request-cancel": API_POST_ONLY,
    "api:request-deny": API_POST_ONLY,
    "api:approval-list": API,
    "api:approval-bulk": API_POST_ONLY,
    "api:grant-list": API,
    "api:grant-extend": API_POST_ONLY,
    "api:grant-give-back": API_POST_ONLY,
    "api:person-leaver": (401, 403, 403, 403, 405),
    "api:sod-rule-list": API_ADMIN_ONLY,
    "api:sod-rule-dry-run": (401, 403, 403, 403, 405),
    "api:sod-rule-detail": API_ADMIN_ONLY,
    "api:sod-violation-list": API,
    "api:review-campaign-list": API,
    "api:review-campaign-items": (401, 404, 404, 200, 404),  # Carol reviews in the fixture's campaign
    "api:review-campaign-decide": API_POST_ONLY,
    "api:review-campaign-accept-recommendations": API_POST_ONLY,
    # Pages.
    "notifications:list": PAGE,
    "notifications:mark_all_read": POST_ONLY,
    "sod:violations": (302, 403, 200, 403, 200),  # Dave owns a rule
    "sod:exceptions": (302, 403, 200, 403, 200),
    "iam:operations": ADMIN_ONLY,
    "iam:account": ADMIN_ONLY,
    "iam:reconcile_now": ADMIN_POST_ONLY,
    "iam:adopt": ADMIN_POST_ONLY,
    "iam:grant_history": ADMIN_ONLY,
    "iam:retry": ADMIN_POST_ONLY,
    "access:catalog": PAGE,
    "access:entitlement": PAGE,
    "access:request_new": PAGE,
    "access:checkout": PAGE,
    "access:cart_add": POST_ONLY,
    "access:cart_remove": POST_ONLY,
    "access:my_requests": PAGE,
    "access:cancel": POST_ONLY,
    "access:my_access": PAGE,
    "access:give_back": POST_ONLY,
    "access:extend": (302, 200, 404, 404, 404),  # only the holder extends their grant
    "access:inbox": PAGE,
    "access:bulk_decide": POST_ONLY,
    "access:approve": POST_ONLY,
    "access:deny": POST_ONLY,
    "posture:index": ADMIN_ONLY,
    "posture:scorecard": ADMIN_ONLY,
    "posture:findings": ADMIN_ONLY,
    "posture:scan_now": ADMIN_POST_ONLY,
    "posture:deactivate_key": ADMIN_POST_ONLY,
    "posture:person": ADMIN_ONLY,
    "reviews:mine": PAGE,
    "reviews:queue": (302, 404, 404, 200, 404),  # Carol reviews the items of what she owns
    "reviews:decide": POST_ONLY,
    "reviews:reassign": POST_ONLY,
    "reviews:campaign": (302, 403, 403, 403, 200),  # its owner, Erin
    "reviews:launch": POST_ONLY,
    "reviews:sign_off": POST_ONLY,
    "reviews:evidence": (302, 403, 403, 403, 200),
}


def patterns(resolver=None, namespace=None, prefix=""):
    resolver = resolver or get_resolver()
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            inner = ":".join(part for part in [namespace, item.namespace] if part) or None
            yield from patterns(item, inner, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            yield (f"{namespace}:{item.name}" if namespace else item.name), prefix + str(item.pattern)


@pytest.fixture
def world(cast, sandbox):
    """One of everything a URL can point at, visible to Alice where a person owns it."""
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    readonly = sandbox.developers.__class__.objects.create(
        account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low", max_duration_days=30
    )
    readonly.owners.set([cast.carol])
    held = services.submit_request(
        requester=cast.alice, entitlement=readonly, justification=GOOD_REASON, duration_days=7
    )
    services.approve(request_id=held.pk, actor=cast.bob)
    grant = Grant.objects.get(user=cast.alice, entitlement=readonly)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + timezone.timedelta(days=7))
    rule = SodRule.objects.create(name="Rule", why="why", owner=cast.dave)
    now = timezone.now()
    drift = UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind="iam_group",
        aws_principal="mallory",
        aws_name="Developers",
        first_seen=now,
        last_seen=now,
    )
    campaign = Campaign.objects.create(
        name="Q4",
        owner=cast.erin,
        reviewer_type="owner",
        fallback_reviewer=cast.dave,
        due_at=now + timezone.timedelta(days=14),
    )
    review_services.launch(campaign_id=campaign.pk, actor=cast.erin)
    finding = PostureFinding.objects.create(
        account=sandbox.account, control_id="2.10", principal="alice", severity="high", person=cast.alice
    )
    ids = {
        "finding_id": finding.pk,
        "person_id": cast.alice.pk,
        "campaign_id": campaign.pk,
        "item_id": campaign.items.first().pk,
        "entitlement_id": sandbox.developers.pk,
        "grant_id": grant.pk,
        "request_id": access_request.pk,
        "account_id": sandbox.account.pk,
        "unmanaged_id": drift.pk,
    }
    by_name = {
        "api:catalog-detail": sandbox.developers.pk,
        "api:request-detail": access_request.pk,
        "api:request-approve": access_request.pk,
        "api:request-cancel": access_request.pk,
        "api:request-deny": access_request.pk,
        "api:grant-extend": grant.pk,
        "api:grant-give-back": grant.pk,
        "api:person-leaver": cast.alice.pk,
        "api:sod-rule-detail": rule.pk,
        "api:review-campaign-items": campaign.pk,
        "api:review-campaign-decide": campaign.pk,
        "api:review-campaign-accept-recommendations": campaign.pk,
    }
    return ids, by_name


def url_for(name: str, pattern: str, ids: dict, by_name: dict) -> str:
    if name in by_name:
        return reverse(name, kwargs={"pk": by_name[name]})
    if name == "account_confirm_email":
        return reverse(name, kwargs={"key": "not-a-key"})
    if name == "account_reset_password_from_key":
        return reverse(name, kwargs={"uidb36": "1", "key": "not-a-key"})
    kwargs = {key: value for key, value in ids.items() if f"<int:{key}>" in pattern}
    return reverse(name, kwargs=kwargs)


def client_as(person) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


def test_every_url_answers_each_role_as_the_table_says(cast, world):
    ids, by_name = world
    people = [None, cast.alice, cast.dave, cast.carol, cast.erin]
    found, mismatches = set(), []
    for name, pattern in patterns():
        if name.startswith("admin:"):
            continue
        found.add(name)
        assert name in EXPECTED, f"{name} ({pattern}) has no row in the authorization table"
        url = url_for(name, pattern, ids, by_name)
        actual = tuple(client_as(person).get(url).status_code for person in people)
        if actual != EXPECTED[name]:
            mismatches.append(f"{name} {url}: expected {EXPECTED[name]}, got {actual}")
    assert mismatches == []
    assert set(EXPECTED) - found == set(), "rows for URLs that no longer exist"


@pytest.mark.parametrize("who", ["anonymous", "employee", "owner"])
def test_the_django_admin_is_for_staff_only(cast, world, who):
    person = {"anonymous": None, "employee": cast.alice, "owner": cast.carol}[who]
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
