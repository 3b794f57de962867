"""Every Django admin list runs the same queries whatever the table's size (docs/operations.md, "At a
company's size"): no count of the whole table, no SELECT DISTINCT for a filter's choices, no query per row
for what a row shows of its related rows. Each list is loaded with 3 rows, then with 30."""

import itertools

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.contrib import admin
from django.contrib.admin import SimpleListFilter
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessRequest, ApprovalAssignment, Grant
from accounts.models import FeedRun
from audit.admin import ListedAdmin
from audit.models import AuditEvent, ChainCheck
from audit.pagination import ADMIN_PAGE_SIZE, CappedPaginator
from audit.services import ObjectRef, record_many
from catalog.models import (
    ApprovalPolicy,
    AwsAccount,
    Entitlement,
    IamUserName,
    OrganizationAccount,
    OrganizationalUnit,
    OrganizationConnection,
    OrgStatus,
)
from iam.models import ReconcileRun, UnmanagedAccess
from notifications.models import Notification
from reviews.models import Campaign, ReviewItem
from scim.models import IdentityProvider, ProvisionedPerson
from sod.models import EntitlementPermissions, SodException, SodRule, SodViolation

GOOD_REASON = "Deploying the billing service for the Q4 release"
_serial = itertools.count(1)


def first_choice(model, field: str) -> str:
    return model._meta.get_field(field).choices[0][0]


def people(n: int) -> list:
    User = get_user_model()
    return User.objects.bulk_create(
        User(email=f"person{k}@example.com", full_name=f"Person {k}", manager=User.objects.first())
        for k in (next(_serial) for _ in range(n))
    )


def entitlements(sandbox, n: int) -> list:
    return Entitlement.objects.bulk_create(
        Entitlement(account=sandbox.account, aws_name=f"Team{k}", name=f"Team {k}")
        for k in (next(_serial) for _ in range(n))
    )


def requests_for(cast, sandbox, n: int) -> None:
    """`n` requests by Alice, each pending with Bob: a request, its stage and its vote each."""
    made = entitlements(sandbox, n)
    for entitlement in made:
        entitlement.owners.set([cast.carol])
    items = [services.CartItem(entitlement) for entitlement in made]
    services.submit_cart(requester=cast.alice, beneficiary=cast.alice, justification=GOOD_REASON, items=items)


def identity_providers(n: int) -> list:
    return IdentityProvider.objects.bulk_create(
        IdentityProvider(name=f"IdP {k}", token_digest=f"{k:064x}", token_prefix=f"{k}", token_issued_at=timezone.now())
        for k in (next(_serial) for _ in range(n))
    )


def units(n: int) -> list:
    root = OrganizationalUnit.objects.get_or_create(ou_id="r-root", defaults={"name": "Root"})[0]
    return OrganizationalUnit.objects.bulk_create(
        OrganizationalUnit(ou_id=f"ou-{k}", name=f"OU {k}", parent=root) for k in (next(_serial) for _ in range(n))
    )


def rule(cast) -> SodRule:
    return SodRule.objects.create(name=f"Rule {next(_serial)}", why="Both halves of a payment", owner=cast.dave)


def campaign(cast) -> Campaign:
    return Campaign.objects.create(name=f"Campaign {next(_serial)}", owner=cast.erin, due_at=timezone.now())


# How to add `n` more rows to each list. A model registered in the admin without one here fails
# `test_every_admin_list_is_measured`: a new list is measured from its first day.
FACTORIES = {
    "audit.auditevent": lambda cast, sandbox, n: record_many(
        [{"actor": cast.erin, "action": "test.event", "obj": ObjectRef("test.thing", str(k))} for k in range(n)]
    ),
    "audit.chaincheck": lambda cast, sandbox, n: ChainCheck.objects.bulk_create(
        ChainCheck(requested_by=cast.frank) for _ in range(n)
    ),
    "accounts.user": lambda cast, sandbox, n: people(n),
    "accounts.feedrun": lambda cast, sandbox, n: FeedRun.objects.bulk_create(
        FeedRun(
            requested_label="manage.py import_people (ops)",
            file_name=f"hr-{k}.csv",
            file_digest=f"{k:064x}",
            total_rows=10_000,
            rows_applied=10_000,
            state=FeedRun.State.SUCCEEDED,
        )
        for k in (next(_serial) for _ in range(n))
    ),
    "auth.group": lambda cast, sandbox, n: Group.objects.bulk_create(Group(name=f"G{next(_serial)}") for _ in range(n)),
    "account.emailaddress": lambda cast, sandbox, n: EmailAddress.objects.bulk_create(
        EmailAddress(user=person, email=person.email) for person in people(n)
    ),
    "socialaccount.socialaccount": lambda cast, sandbox, n: SocialAccount.objects.bulk_create(
        SocialAccount(user=person, provider="oidc", uid=person.email) for person in people(n)
    ),
    "mfa.authenticator": lambda cast, sandbox, n: Authenticator.objects.bulk_create(
        Authenticator(user=person, type=Authenticator.Type.RECOVERY_CODES, data={}) for person in people(n)
    ),
    "catalog.approvalpolicy": lambda cast, sandbox, n: ApprovalPolicy.objects.bulk_create(
        ApprovalPolicy(name=f"Policy {next(_serial)}", fallback_approver=cast.dave) for _ in range(n)
    ),
    "catalog.iamusername": lambda cast, sandbox, n: IamUserName.objects.bulk_create(
        IamUserName(account=sandbox.account, person=person, name=f"iam{person.pk}") for person in people(n)
    ),
    "sod.sodrule": lambda cast, sandbox, n: [rule(cast) for _ in range(n)],
    "sod.sodviolation": lambda cast, sandbox, n: SodViolation.objects.bulk_create(
        SodViolation(rule=rule(cast), user=person, first_seen=timezone.now(), last_seen=timezone.now())
        for person in people(n)
    ),
    "sod.sodexception": lambda cast, sandbox, n: SodException.objects.bulk_create(
        SodException(
            rule=rule(cast),
            user=person,
            mitigating_control="Weekly review",
            ends_at=timezone.now(),
            approved_by=cast.erin,
        )
        for person in people(n)
    ),
    "sod.entitlementpermissions": lambda cast, sandbox, n: EntitlementPermissions.objects.bulk_create(
        EntitlementPermissions(entitlement=entitlement, fetched_at=timezone.now())
        for entitlement in entitlements(sandbox, n)
    ),
    "access.accessrequest": requests_for,
    "access.grant": lambda cast, sandbox, n: Grant.objects.bulk_create(
        Grant(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN)
        for entitlement in entitlements(sandbox, n)
    ),
    "access.approvalassignment": requests_for,
    "catalog.entitlement": lambda cast, sandbox, n: entitlements(sandbox, n),
    "reviews.campaign": lambda cast, sandbox, n: [campaign(cast) for _ in range(n)],
    "reviews.reviewitem": lambda cast, sandbox, n: ReviewItem.objects.bulk_create(
        ReviewItem(
            campaign=campaign(cast),
            holder=cast.alice,
            grant=Grant.objects.create(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN),
            entitlement=entitlement,
            origin=first_choice(ReviewItem, "origin"),
            reviewer=cast.bob,
            reviewer_reason="manager",
        )
        for entitlement in entitlements(sandbox, n)
    ),
    "catalog.awsaccount": lambda cast, sandbox, n: AwsAccount.objects.bulk_create(
        AwsAccount(name=f"Account {k}", account_id=f"{k:012d}") for k in (next(_serial) for _ in range(n))
    ),
    "iam.reconcilerun": lambda cast, sandbox, n: ReconcileRun.objects.bulk_create(
        ReconcileRun(account=sandbox.account, mode=first_choice(ReconcileRun, "mode"), status="succeeded")
        for _ in range(n)
    ),
    "iam.unmanagedaccess": lambda cast, sandbox, n: UnmanagedAccess.objects.bulk_create(
        UnmanagedAccess(
            account=sandbox.account,
            person=cast.alice,
            kind=first_choice(UnmanagedAccess, "kind"),
            aws_principal=f"user/someone{k}",
            aws_name=f"Group{k}",
            first_seen=timezone.now(),
            last_seen=timezone.now(),
        )
        for k in (next(_serial) for _ in range(n))
    ),
    "scim.identityprovider": lambda cast, sandbox, n: identity_providers(n),
    "scim.provisionedperson": lambda cast, sandbox, n: ProvisionedPerson.objects.bulk_create(
        ProvisionedPerson(person=person, provider=identity_providers(1)[0], external_id=f"ext-{person.pk}")
        for person in people(n)
    ),
    # At most one connection: the list shows it, whatever else there is.
    "catalog.organizationconnection": lambda cast, sandbox, n: OrganizationConnection.objects.get_or_create(
        role_arn="arn:aws:iam::123456789012:role/PortalOrganizationsReader"
    ),
    "catalog.organizationalunit": lambda cast, sandbox, n: units(n),
    "catalog.organizationaccount": lambda cast, sandbox, n: OrganizationAccount.objects.bulk_create(
        OrganizationAccount(
            account_id=f"{k:012d}", name=f"Member {k}", status=OrgStatus.ACTIVE, ou=ou, last_seen_at=timezone.now()
        )
        for ou, k in zip(units(n), (next(_serial) for _ in range(n)), strict=True)
    ),
    "notifications.notification": lambda cast, sandbox, n: Notification.objects.bulk_create(
        Notification(recipient=cast.alice, kind=first_choice(Notification, "kind"), title="Hello", link="/")
        for _ in range(n)
    ),
}
# Tables a constraint keeps to one row: listed with that row, the same queries as any other list.
SINGLETONS = {"catalog.organizationconnection"}
assert AccessRequest and ApprovalAssignment and AuditEvent  # their lists are filled through services above


def changelist_queries(client, model) -> int:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    client.get(url)  # the session's first page does a sign-in's one-off work: not the list's
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_every_admin_list_is_measured():
    assert {model._meta.label_lower for model in admin.site._registry} == set(FACTORIES)


@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_an_admin_list_runs_the_same_queries_for_3_and_30_rows(client_for, cast, sandbox, label):
    model = next(model for model in admin.site._registry if model._meta.label_lower == label)
    client = client_for(cast.erin)
    FACTORIES[label](cast, sandbox, 3)
    with_three = changelist_queries(client, model)
    FACTORIES[label](cast, sandbox, 27)

    assert model._default_manager.count() >= (1 if label in SINGLETONS else 30)
    assert changelist_queries(client, model) == with_three


def _related_shown(model_admin) -> set[str]:
    # Names that are not fields (methods, properties) are not relations Django would follow.
    fields = {field.name: field for field in model_admin.model._meta.get_fields()}
    return {name for name in model_admin.list_display if isinstance(fields.get(name), models.ForeignKey)}


@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_an_admin_list_neither_counts_nor_scans_its_table(label):
    model, model_admin = next((m, a) for m, a in admin.site._registry.items() if m._meta.label_lower == label)

    assert model_admin.show_full_result_count is False
    assert issubclass(model_admin.paginator, CappedPaginator), "the list would count its whole table"
    assert model_admin.list_per_page == ADMIN_PAGE_SIZE, "Django's 100 rows a page: most of a list's time"
    assert not model_admin.date_hierarchy, "its year links are a SELECT DISTINCT over the table"
    selected = set(model_admin.list_select_related or ())
    assert _related_shown(model_admin) <= {name.split("__")[0] for name in selected}
    for entry in model_admin.list_filter:
        if isinstance(entry, type) and issubclass(entry, SimpleListFilter):
            continue
        field = model._meta.get_field(entry if isinstance(entry, str) else entry[0])
        # Choices, booleans, dates and relations (a query of the small related table) never read this one.
        assert field.choices or field.is_relation or isinstance(field, models.BooleanField | models.DateTimeField), (
            f"{label}: filtering on {field.name} would SELECT DISTINCT over the table"
        )


def test_admin_pages_skip_the_portal_navigation_counts(client_for, cast):
    """The admin's templates show none of the portal's badges: its pages do not count them."""
    client = client_for(cast.erin)
    admin_list = client.get(reverse("admin:access_accessrequest_changelist"))
    portal_page = client.get(reverse("access:my_requests"))

    assert "nav_approvals_waiting" not in admin_list.context
    assert "nav_approvals_waiting" in portal_page.context


def test_a_rows_action_checkbox_is_djangos_own(cast):
    """The portal's lists write each row's checkbox directly (audit.admin.ListedAdmin): the same HTML as
    Django's widget, escaping included, so the admin's select-all script and screen readers find it."""
    people_admin = admin.site._registry[get_user_model()]
    cast.alice.full_name = 'Alice "<b>" & Co'

    assert isinstance(people_admin, ListedAdmin)
    assert people_admin.action_checkbox(cast.alice) == admin.ModelAdmin.action_checkbox(people_admin, cast.alice)


def test_the_admins_index_and_an_apps_index_still_list_their_models(client_for, cast):
    # Every admin page's context holds the list of apps for the sidebar, which is off: it is built only
    # when a template reads it (portal.admin_site), as the two index pages do.
    client = client_for(cast.erin)
    index = client.get(reverse("admin:index")).content.decode()
    app = client.get(reverse("admin:app_list", args=["reviews"])).content.decode()

    assert reverse("admin:reviews_reviewitem_changelist") in index
    assert reverse("admin:accounts_user_changelist") in index
    assert reverse("admin:reviews_campaign_changelist") in app
    assert reverse("admin:accounts_user_changelist") not in app


def test_an_admin_list_reads_pages_past_its_capped_count(client_for, cast, monkeypatch):
    """The count stops (here at 30); a page past it, asked for by number, lists its rows, and one past the
    last row is Django's own "not found" for the list, never an error."""
    from accounts.models import User
    from audit.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 30)
    for n in range(70):
        User.objects.create_user(email=f"p{n:02}@example.com", full_name=f"P{n:02}")
    erin = client_for(cast.erin)

    third = erin.get("/admin/accounts/user/", {"p": 3})
    past_the_end = erin.get("/admin/accounts/user/", {"p": 40})

    assert third.status_code == 200
    shown = [person.email for person in third.context["cl"].result_list]
    everyone = list(User.objects.order_by("full_name", "email").values_list("email", flat=True))
    assert shown == everyone[50:75]
    assert past_the_end.status_code == 302 and past_the_end["Location"].endswith("?e=1")
