"""Reads of requests and grants that pages and the API share. Each runs a fixed number of queries."""

from collections.abc import Collection, Iterable, Iterator
from typing import cast

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, NullIf

from access.models import AccessRequest, Approval, ApprovalAssignment, BreakGlassEligibility, Grant, GrantActivity
from access.timeline import TimelineEvent
from accounts.models import User
from audit.models import AuditEvent, AuditSubject
from catalog.models import Entitlement
from sod.selectors import unreadable_of

REQUEST_TYPE = "access.accessrequest"


def votes_of(user: User) -> Q:
    """Assignments naming `user`, and for governance admins the shared ones naming nobody."""
    mine = Q(approver=user)
    if user.is_governance_admin:
        mine |= Q(approver__isnull=True)
    return mine


def stage_open_to(user: User, path: str = "") -> Q:
    """The stage (at `path`, "approval__" from a vote) is active on a pending request `user` neither made nor
    benefits from: where their undecided vote may be cast now."""
    return (
        Q(**{f"{path}state": Approval.State.PENDING, f"{path}request__state": AccessRequest.State.PENDING})
        & ~Q(**{f"{path}request__beneficiary": user})
        & ~Q(**{f"{path}request__requester": user})
    )


def pending_assignments_for(user: User) -> QuerySet[ApprovalAssignment]:
    """Undecided votes `user` may cast now, on stages that are active. Never on their own requests."""
    return ApprovalAssignment.objects.filter(
        votes_of(user), stage_open_to(user, "approval__"), decision=ApprovalAssignment.Decision.PENDING
    )


def waiting_request_of_each_vote(user: User) -> QuerySet[ApprovalAssignment]:
    """Each undecided vote of `user` (`votes_of`, read through `assignment_pending_by_person`) with the request
    it waits on as `waiting_request`: its request if its stage is open to them (`stage_open_to`, the rest of
    `pending_assignments_for`), else NULL.

    For a count of the distinct requests (the navigation's Approvals badge). The stage and its request are
    read vote by vote by their keys, so the cost follows the person's own votes: as a join, the planner
    expected few of their votes on active stages and hashed them against every active stage (2,000 at a
    company's size, 20,000 at ten times: 12-18 ms for a governance admin)."""
    stage = Approval.objects.filter(stage_open_to(user), pk=OuterRef("approval_id")).order_by().values("request_id")
    return ApprovalAssignment.objects.filter(votes_of(user), decision=ApprovalAssignment.Decision.PENDING).annotate(
        waiting_request=Subquery(stage[:1], output_field=IntegerField())
    )


def awaiting_decision_by(user: User) -> list[int]:
    """Ids of the requests whose current stage `user` may decide, oldest first (then by id).

    Read from the approver's own undecided assignments (`assignment_pending_by_person`) in one small query,
    with each request's creation time, so a page of the inbox is cut from this list (no count query) and
    only its rows are read (`inbox_requests`). As an `Exists()` or an `IN (subquery)` of the inbox's join,
    PostgreSQL pulls the semi-join into the join and joins all requests before keeping the approver's few.
    """
    mine = pending_assignments_for(user).order_by().values_list("approval__request__created_at", "approval__request_id")
    return [request_id for _, request_id in sorted(set(mine))]


def inbox_requests(request_ids: Collection[int]) -> list:
    """These requests, oldest first, as rows of the columns the inbox shows: one query, read as rows rather
    than six models a request (it, its requester, beneficiary and their manager, entitlement and account).
    People come as their full name and email, which `User.__str__` chooses between."""
    return list(
        AccessRequest.objects.filter(pk__in=request_ids)
        .order_by("created_at", "pk")
        .values_list(
            "pk",
            "kind",
            "justification",
            "created_at",
            "duration_days",
            "duration_hours",
            "sod_findings",
            "requester_id",
            "requester__full_name",
            "requester__email",
            "beneficiary_id",
            "beneficiary__full_name",
            "beneficiary__email",
            "beneficiary__title",
            "beneficiary__department",
            "beneficiary__manager__full_name",
            "beneficiary__manager__email",
            "entitlement_id",
            "entitlement__name",
            "entitlement__risk",
            "entitlement__account__name",
            "entitlement__account__cloudtrail_bucket",
            named=True,
        )
    )


def stages_of(request_ids: Collection[int]) -> dict[int, list]:
    """Each request's stages in step order, as rows with the decision and reason of each vote: a stage with
    several votes comes as several rows, one with none as one row whose vote is None. One query, of the
    columns the inbox shows: not a stage and its votes built as models for each request of a page."""
    rows = (
        Approval.objects.filter(request_id__in=request_ids)
        .order_by("request_id", "step", "assignments__id")
        .values_list(
            "request_id",
            "pk",
            "step",
            "label",
            "required",
            "state",
            "sod_rule_id",
            "assignments__decision",
            "assignments__reason",
            named=True,
        )
    )
    stages: dict[int, list] = {}
    for row in rows:
        stages.setdefault(row.request_id, []).append(row)
    return stages


def holdings_of(people_ids: Iterable[int]) -> dict[int, list]:
    """What each person holds now, as (entitlement, account) names by person id: one query for a page of
    the inbox, read as names rather than as grants with their entitlement and account (three objects for
    each line of a list that only names them)."""
    rows = (
        Grant.objects.filter(user_id__in=set(people_ids), desired=Grant.Desired.PRESENT)
        .annotate(entitlement_name=F("entitlement__name"), account_name=F("entitlement__account__name"))
        .order_by("user_id", "entitlement_name", "pk")
        .values_list("user_id", "entitlement_name", "account_name", named=True)
    )
    holdings: dict[int, list] = {}
    for row in rows:
        holdings.setdefault(row.user_id, []).append(row)
    return holdings


def requests_of(user: User) -> QuerySet[AccessRequest]:
    """Requests where `user` is the beneficiary or the requester, newest first."""
    return (
        AccessRequest.objects.filter(Q(beneficiary=user) | Q(requester=user))
        .select_related("entitlement__account", "requester", "beneficiary")
        .prefetch_related(Prefetch("approvals", queryset=Approval.objects.prefetch_related("assignments__approver")))
        .order_by("-created_at")
    )


def requests_shown_to(user: User) -> QuerySet[AccessRequest]:
    """`requests_of` as My requests shows them: the columns its cards show, and only the stages still
    waiting (the page names who each waits for), each with its assignments and their approvers in one query
    (`waiting_stages`). Every stage, each decided vote and every column of three people a card were read and
    built as models for nothing."""
    assignments = ApprovalAssignment.objects.select_related("approver").only(
        "approval_id", "decision", "approver__full_name", "approver__email"
    )
    waiting = (
        Approval.objects.filter(state=Approval.State.PENDING)
        .only("request_id", "step", "label", "state", "kind", "due_at")
        .prefetch_related(Prefetch("assignments", queryset=assignments))
    )
    return (
        AccessRequest.objects.filter(Q(beneficiary=user) | Q(requester=user))
        .select_related("entitlement__account", "requester", "beneficiary")
        .only(
            "state",
            "kind",
            "break_glass",
            "ticket",
            "duration_days",
            "duration_hours",
            "created_at",
            "entitlement__name",
            "entitlement__account__name",
            "requester__full_name",
            "requester__email",
            "beneficiary__full_name",
            "beneficiary__email",
        )
        .prefetch_related(Prefetch("approvals", queryset=waiting, to_attr="waiting_stages"))
        .order_by("-created_at")
    )


def activities_for(access_requests: Iterable[AccessRequest]) -> dict[int, GrantActivity]:
    """The CloudTrail summary of each request's grant, where one was read, keyed by request id: one query."""
    ids = [access_request.pk for access_request in access_requests]
    if not ids:
        return {}
    # The grant's request id alone, not the grant built as a model for it.
    found = GrantActivity.objects.filter(grant__request_id__in=ids).annotate(request_id=F("grant__request_id"))
    return {cast(int, activity.request_id): activity for activity in found}  # grant__request_id__in: never None


def extension_activities(access_requests: Iterable[AccessRequest]) -> dict[int, GrantActivity | None]:
    """For each extension among the requests, the CloudTrail summary of the grant it would extend, keyed by
    request id: the activity so far, for whoever decides. One query. A request whose account has no trail maps
    to None, as does one whose grant was not read yet (the inbox tells the two apart by the account)."""
    wanted = {
        (access_request.beneficiary_id, access_request.entitlement_id): access_request.pk
        for access_request in access_requests
        if access_request.kind == AccessRequest.Kind.EXTENSION
    }
    found: dict[int, GrantActivity | None] = dict.fromkeys(wanted.values())
    if not wanted:
        return found
    people = {person for person, _ in wanted}
    entitlements = {entitlement for _, entitlement in wanted}
    rows = GrantActivity.objects.filter(grant__user_id__in=people, grant__entitlement_id__in=entitlements)
    for activity in rows.select_related("grant"):
        key = (activity.grant.user_id, activity.grant.entitlement_id)
        if key in wanted:
            found[wanted[key]] = activity
    return found


def timelines_for(access_requests: Iterable[AccessRequest]) -> dict[int, list[TimelineEvent]]:
    """The audit events of each request, its approval votes and its grant, in one query.

    Events about the request itself are found by `audit_object_history`; those that only name it
    (`after["request"]`: votes, escalations, grant syncs) through the subject table's index. Both id
    lists are read in one UNION subquery, so the trail is never scanned for a JSON key.
    """
    ids = [access_request.pk for access_request in access_requests]
    if not ids:
        return {}
    own = AuditEvent.objects.filter(object_type=REQUEST_TYPE, object_id__in=[str(pk) for pk in ids])
    own_ids = own.order_by().values("pk")
    naming = AuditSubject.objects.filter(subject_type=REQUEST_TYPE, subject_id__in=ids)
    naming_ids = naming.order_by().values("event_id")
    # What a timeline reads of an event, as rows rather than models: a page shows some 200 events, and an
    # event and its actor built as models cost more than writing its line. Not its `before`, its chain
    # hashes or its address; of its actor, the name it is shown by (User.__str__: the full name, else email).
    events = (
        AuditEvent.objects.filter(pk__in=own_ids.union(naming_ids))
        .annotate(actor_name=Coalesce(NullIf("actor__full_name", Value("")), "actor__email", output_field=CharField()))
        .order_by("seq")
        .values_list(
            "created_at", "actor_name", "actor_label", "action", "object_type", "object_id", "after", named=True
        )
    )
    timelines: dict[int, list[TimelineEvent]] = {pk: [] for pk in ids}
    for event in events:
        # The others name the request in `after`: the subject index is written from it.
        request_id = int(event.object_id) if event.object_type == REQUEST_TYPE else cast(dict, event.after)["request"]
        timelines.setdefault(request_id, []).append(event)
    return timelines


def access_of(user: User) -> QuerySet[Grant]:
    return (
        Grant.objects.filter(user=user, desired=Grant.Desired.PRESENT)
        .select_related("entitlement__account")
        .annotate(
            extension_pending=Exists(
                AccessRequest.objects.filter(
                    beneficiary=user, entitlement=OuterRef("entitlement"), state=AccessRequest.State.PENDING
                )
            )
        )
        .order_by("entitlement__account__name", "entitlement__name")
    )


def annotate_held_and_pending(entitlements: QuerySet[Entitlement], user: User) -> QuerySet[Entitlement]:
    """Mark each entitlement with whether `user` holds it or has a request pending for it."""
    return entitlements.annotate(
        held=Exists(Grant.objects.filter(user=user, entitlement=OuterRef("pk"), desired=Grant.Desired.PRESENT)),
        pending=Exists(
            AccessRequest.objects.filter(
                beneficiary=user, entitlement=OuterRef("pk"), state=AccessRequest.State.PENDING
            )
        ),
    )


def has_pending_sync(user: User) -> bool:
    return Grant.objects.filter(
        user=user, sync_state__in=[Grant.SyncState.PENDING, Grant.SyncState.IN_PROGRESS]
    ).exists()


def present_holdings(user_ids: Collection[int] | None = None) -> Iterator[tuple[int, int]]:
    """(person id, entitlement id) of every present grant, or of `user_ids`' only: separation of duties reads
    the ledger through this (settings.SOD_HOLDINGS, sod.holdings). Streamed: the nightly scan reads them all."""
    grants = Grant.objects.filter(desired=Grant.Desired.PRESENT)
    if user_ids is not None:
        grants = grants.filter(user_id__in=user_ids)
    return grants.values_list("user_id", "entitlement_id").iterator(chunk_size=10_000)


def holders_of(entitlement: Entitlement) -> QuerySet[Grant]:
    return (
        Grant.objects.filter(entitlement=entitlement, desired=Grant.Desired.PRESENT)
        .select_related("user")
        .order_by("user__full_name")
    )


def requests_visible_to(user: User) -> QuerySet[AccessRequest]:
    """Requests `user` asked for, benefits from, or was assigned to decide, with every stage and vote.

    Anything else is answered with 404, so a caller cannot tell "not yours" from "does not exist".
    """
    assigned = ApprovalAssignment.objects.filter(votes_of(user), approval__request=OuterRef("pk"))
    votes = ApprovalAssignment.objects.select_related("approver", "decided_by").order_by("pk")
    stages = Approval.objects.prefetch_related(Prefetch("assignments", queryset=votes)).order_by("step")
    return (
        AccessRequest.objects.filter(Q(requester=user) | Q(beneficiary=user) | Exists(assigned))
        .select_related("entitlement__account", "requester", "beneficiary")
        .prefetch_related(Prefetch("approvals", queryset=stages))
    )


def steps_to_decide(user: User) -> QuerySet[Approval]:
    """Stages holding a vote `user` may cast now, oldest request first.

    Each carries `my_votes`: the caller's undecided assignments in it, for the reasons they were asked.
    """
    my_votes = pending_assignments_for(user)
    # Read first, as the inbox's are (awaiting_decision_by): the stages of the caller's own votes.
    stage_ids = sorted(set(my_votes.order_by().values_list("approval_id", flat=True)))
    return (
        Approval.objects.filter(pk__in=stage_ids)
        .select_related("request__entitlement__account", "request__requester", "request__beneficiary")
        .prefetch_related(Prefetch("assignments", queryset=my_votes.order_by("pk"), to_attr="my_votes"))
        .order_by("request__created_at", "pk")
    )


def with_holders(entitlements: QuerySet[Entitlement]) -> QuerySet[Entitlement]:
    """The console list's entitlements, each with how many people hold it (`holders`, desired present: an
    index-only count of the partial index grant_present_by_entitlement, asked for each row of the page
    alone) and what could not be read of its policies (`unreadable`, empty when all were read), both asked
    for the page's rows in its own query: two more queries, each built and read for 25 ids, cost more than
    the rows. Subqueries rather than joins, so the paginator's count reads the entitlements alone."""
    present = (
        Grant.objects.filter(entitlement=OuterRef("pk"), desired=Grant.Desired.PRESENT)
        .order_by()
        .values("entitlement")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return entitlements.annotate(
        holders=Coalesce(Subquery(present, output_field=IntegerField()), Value(0)),
        unreadable=Coalesce(unreadable_of(OuterRef("pk")), Value(""), output_field=TextField()),
    )


def break_glass_grounds(person: User | AnonymousUser, entitlement_id: int) -> str | None:
    """Why `person` may break glass for this entitlement ("named", or "department Platform"); None: they may
    not. Only people who can sign in, and never auditors, who change nothing. One query."""
    if not person.is_authenticated or not person.is_active or person.is_leaver or person.is_auditor:
        return None
    mine = Q(person_id=person.pk)
    if person.department:
        mine |= Q(department=person.department)
    found = list(
        BreakGlassEligibility.objects.filter(mine, entitlement_id=entitlement_id).values_list("person_id", "department")
    )
    if any(person_id == person.pk for person_id, _ in found):
        return "named"
    return f"department {person.department}" if found else None


def break_glass_eligibility_of(entitlement: Entitlement) -> tuple[list[User], list[str]]:
    """The people named and the departments allowed to break glass for `entitlement`: two short lists."""
    rows = list(BreakGlassEligibility.objects.filter(entitlement=entitlement).select_related("person"))
    people = sorted(
        (row.person for row in rows if row.person is not None), key=lambda person: (person.full_name, person.pk)
    )
    return people, sorted(row.department for row in rows if row.department)


def break_glass_reviews_for(user: User) -> QuerySet[Approval]:
    """After-the-fact reviews of break glass `user` may decide now, the soonest due first; never their own.

    Each carries `my_votes` (why they were asked) and its request with what the inbox shows."""
    my_votes = ApprovalAssignment.objects.filter(
        votes_of(user),
        decision=ApprovalAssignment.Decision.PENDING,
        approval__kind=Approval.Kind.REVIEW,
        approval__state=Approval.State.PENDING,
    ).exclude(Q(approval__request__beneficiary=user) | Q(approval__request__requester=user))
    stage_ids = sorted(set(my_votes.order_by().values_list("approval_id", flat=True)))
    return (
        Approval.objects.filter(pk__in=stage_ids)
        .select_related("request__entitlement__account", "request__requester", "request__beneficiary")
        .prefetch_related(Prefetch("assignments", queryset=my_votes.order_by("pk"), to_attr="my_votes"))
        .order_by("due_at", "pk")
    )
