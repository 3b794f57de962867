"""Reads for Governance → People: who each person is, what they hold, and how a leaver's removal goes.

Here rather than in `accounts` (which sits below `access` and so cannot read grants or requests). Each
function runs a fixed number of queries whatever the number of people or grants.

Roles are the same facts as `accounts.roles`, asked as subqueries so a page of people costs one
query: a reviewer's lines are found through the reverse relation's name (`review_items`), as
`accounts.roles` does, so `access` imports nothing from `reviews` above it.
"""

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from access.models import AccessRequest, ApprovalAssignment, Grant, LeaverStep
from access.services.leavers import seconds_to_nothing_left
from accounts.models import ApiToken, User
from catalog.models import Entitlement

# The role filter's choices, in the order badges are shown; each is an annotation of `people()`.
ROLES = [
    ("governance_admin", "Governance admin"),
    ("auditor", "Auditor"),
    ("manager", "Manager"),
    ("owner", "Owner"),
    ("approver", "Approver"),
    ("reviewer", "Reviewer"),
]
# What the confirmation page lists of each kind before saying "and N more" (all are removed anyway).
CONFIRM_LIST_LIMIT = 200


def _count(rows) -> Coalesce:
    """A correlated COUNT of a person's `rows` (filtered on OuterRef("pk")), 0 when there are none."""
    counted = rows.order_by().values("user_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _review_items_of(person) -> QuerySet:
    """The review lines `person` reviews, read from their own table through the reverse relation's name
    (`access` imports nothing from `reviews`). Asked of `User` joined to its lines instead, PostgreSQL
    hashed every line and every person to find the reviewers (194 ms at 20,000 people and 100,000 lines;
    30 ms this way, the reviewers found from the lines alone)."""
    relation = User._meta.get_field("review_items")
    return cast(type[Model], relation.related_model)._default_manager.filter(**{relation.field.name: person})


# Each of these querysets is built once a process and copied for each use (`.all()`): annotating `User` with
# four EXISTS and a count resolves every subquery's expressions, twice a request on the list (its filter's
# queryset and its page's rows), and that was a quarter of the list's Python time. A queryset is never
# changed in place, only copied, so the one kept is never evaluated and never shared between requests.


@functools.cache
def _people_with_roles() -> QuerySet:
    person = OuterRef("pk")
    return (
        User.objects.select_related("manager")
        .annotate(
            role_governance_admin=ExpressionWrapper(Q(is_superuser=True, is_active=True), BooleanField()),
            role_auditor=ExpressionWrapper(Q(is_auditor=True, is_active=True), BooleanField()),
            role_manager=Exists(User.objects.filter(manager=person, is_active=True)),
            role_owner=Exists(Entitlement.owners.through.objects.filter(user_id=person)),
            role_approver=Exists(ApprovalAssignment.objects.filter(approver=person)),
            role_reviewer=Exists(_review_items_of(person)),
        )
        .order_by("full_name", "email")
    )


@functools.cache
def _people() -> QuerySet:
    active = Grant.objects.filter(user=OuterRef("pk"), desired=Grant.Desired.PRESENT)
    return _people_with_roles().annotate(active_grants=_count(active))


@functools.cache
def _people_shown() -> QuerySet:
    # The columns the list shows (of the person and of their manager), not the rest of each.
    return _people().only(
        "email",
        "full_name",
        "department",
        "employment_status",
        "left_at",
        "manager__email",
        "manager__full_name",
    )


def people_with_roles() -> QuerySet:
    """Everyone, in name order, with their manager and each role as a boolean (one person's page)."""
    return _people_with_roles().all()


def people() -> QuerySet:
    """Everyone, in name order, with their manager, each role as a boolean and their active grants (the list)."""
    return _people().all()


def roles_of(person: User) -> list[str]:
    """The role names of a person read through `people()`, for badges."""
    return [label for key, label in ROLES if getattr(person, f"role_{key}", False)]


def ids_in_list_order(found: QuerySet) -> QuerySet:
    """The ids alone of `found` (`people()` filtered), in its name order: what a page of the list reads
    first, from `user_by_name` (or `user_by_department` for a department), stopping at the page's end.

    The roles and grants are worked out afterwards for that page only (`people_by_id`): asked of the
    whole filtered list, PostgreSQL hashes every manager, approver and review line to answer each
    EXISTS once for all 20,000 people, however few rows the page shows (92 ms at 20,000 people).
    An annotation only a filter names still becomes that filter's WHERE here.
    """
    return found.values_list("pk", flat=True)


def people_by_id(ids: Iterable[int]) -> list[User]:
    """Those people through `people()`, in the order of `ids`, with what the list shows of them: one query
    of a page's worth of rows, each EXISTS and count asked by primary key through its index."""
    ids = list(ids)
    found = _people_shown().in_bulk(ids) if ids else {}
    return [found[pk] for pk in ids if pk in found]


def departments() -> list[str]:
    """The department filter's choices, without a DISTINCT over everyone: a skip scan of
    `user_by_department`, each step the next department after the last one (one index probe per
    department, 40 of them whether there are 200 people or 200,000). One query; also on SQLite.
    A Department table kept by the HR feed and SCIM would be as flat, at the cost of a second copy of
    every person's department to keep in step."""
    table, column = connection.ops.quote_name(User._meta.db_table), connection.ops.quote_name("department")
    sql = f"""
        WITH RECURSIVE found(name) AS (
            SELECT MIN({column}) FROM {table} WHERE {column} > %s
            UNION ALL
            SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.name)
            FROM found WHERE found.name IS NOT NULL
        )
        SELECT name FROM found WHERE name IS NOT NULL
    """  # noqa: S608  (names from the model, quoted; the one value a parameter)
    with connection.cursor() as cursor:
        cursor.execute(sql, [""])
        return [name for (name,) in cursor.fetchall()]


def holdings_of(person: User) -> QuerySet[Grant]:
    """What the person holds now (desired present), with the entitlement and account shown."""
    return (
        Grant.objects.filter(user=person, desired=Grant.Desired.PRESENT)
        .select_related("entitlement__account")
        .order_by("entitlement__name", "pk")
    )


def open_requests_of(person: User) -> QuerySet[AccessRequest]:
    """Requests for the person still waiting for a decision, oldest first."""
    return (
        AccessRequest.objects.filter(beneficiary=person, state=AccessRequest.State.PENDING)
        .select_related("entitlement__account", "requester")
        .order_by("created_at", "pk")
    )


# --- marking a leaver -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaverPreview:
    """Exactly what `accounts.services.mark_leaver` would take from the person now."""

    grants: list
    grant_count: int
    requests: list
    request_count: int
    tokens: list
    token_count: int
    fingerprint: str  # of every id above: the confirmation is refused if it no longer matches


def leaver_preview(person: User) -> LeaverPreview:
    grants = holdings_of(person)
    requests = open_requests_of(person)
    # Expired tokens are removed too, but no longer open anything: only the live ones are worth listing.
    tokens = ApiToken.objects.filter(user=person, expiry__gt=timezone.now()).order_by("name")
    ids = {
        "g": sorted(grants.values_list("pk", flat=True)),
        "r": sorted(requests.values_list("pk", flat=True)),
        "t": sorted(tokens.values_list("pk", flat=True)),
    }
    fingerprint = hashlib.sha256(repr(sorted(ids.items())).encode()).hexdigest()
    return LeaverPreview(
        grants=list(grants[:CONFIRM_LIST_LIMIT]),
        grant_count=len(ids["g"]),
        requests=list(requests[:CONFIRM_LIST_LIMIT]),
        request_count=len(ids["r"]),
        tokens=list(tokens[:CONFIRM_LIST_LIMIT]),
        token_count=len(ids["t"]),
        fingerprint=fingerprint,
    )


# --- a leaver's removal, as read back from AWS -----------------------------------------------------


@dataclass(frozen=True)
class Removal:
    """How far the removal of what a leaver held has come. `verified`: read back absent from AWS."""

    total: int
    verified: int
    failed: int

    @property
    def pending(self) -> int:
        return self.total - self.verified - self.failed

    @property
    def done(self) -> bool:
        return self.verified == self.total

    @property
    def waiting(self) -> bool:
        """Whether the sync is still working on some (the page polls only then)."""
        return self.pending > 0


def removed_at_leaving(person: User) -> QuerySet[Grant]:
    """The grants ended when the person was marked a leaver: `end_access_of_leaver` ends them all at
    the leaving time itself, so they are told apart from those given back or expired before."""
    if not person.is_leaver or person.left_at is None:
        return Grant.objects.none()
    return Grant.objects.filter(user=person, desired=Grant.Desired.ABSENT, ended_at=person.left_at)


def removal_of(person: User) -> Removal:
    """The removal's figures from one count per sync state (simpler to build than three filtered counts)."""
    by_state = dict(removed_at_leaving(person).order_by().values_list("sync_state").annotate(n=Count("pk")))
    return Removal(
        total=sum(by_state.values()),
        verified=by_state.get(Grant.SyncState.REVOKED, 0),
        failed=by_state.get(Grant.SyncState.FAILED, 0),
    )


def removal_lines(person: User) -> QuerySet[Grant]:
    """Each grant of the removal with its state: failed first (they need someone), then waiting, then done."""
    return removed_at_leaving(person).select_related("entitlement__account").order_by("sync_state", "entitlement__name")


@dataclass(frozen=True)
class LeaverSteps:
    """A leaver's steps beyond the grants (keys, password, MFA, role sessions, unmanaged access), per account."""

    steps: list
    seconds_to_nothing_left: float | None

    @property
    def waiting(self) -> bool:
        return any(step.state in (LeaverStep.State.PENDING, LeaverStep.State.RETRYING) for step in self.steps)

    @property
    def failed(self) -> int:
        return sum(step.state == LeaverStep.State.FAILED for step in self.steps)

    @property
    def timings(self) -> list[dict]:
        """Seconds from leaving to each finished step, for the chart (the table says the same in words)."""
        return [
            {"label": f"{step.account.name}: {step.get_kind_display()}", "seconds": step.seconds_after_leaving}
            for step in self.steps
            if step.seconds_after_leaving is not None
        ]


def leaver_steps_of(person: User) -> LeaverSteps:
    steps = list(
        LeaverStep.objects.filter(person=person).select_related("account").order_by("account__name", "position")
    )
    return LeaverSteps(steps, seconds_to_nothing_left(person) if steps else None)
