"""Reads of requests and grants that pages share. Each runs a fixed number of queries."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from access.models import AccessRequest, Approval, Grant


def pending_steps_for_approver(user) -> QuerySet[Approval]:
    """Steps `user` may decide now, oldest request first. Never their own requests."""
    mine = Q(approver=user)
    if user.is_governance_admin:
        mine |= Q(approver__isnull=True)
    return (
        Approval.objects.filter(mine, decision=Approval.Decision.PENDING, request__state=AccessRequest.State.PENDING)
        .exclude(request__beneficiary=user)
        .exclude(request__requester=user)
        .select_related("approver", "request__beneficiary", "request__requester", "request__entitlement__account")
        .order_by("request__created_at")
    )


def requests_of(user) -> QuerySet[AccessRequest]:
    return (
        AccessRequest.objects.filter(beneficiary=user)
        .select_related("entitlement__account", "requester")
        .prefetch_related("approvals__approver", "approvals__decided_by")
    )


def access_of(user) -> QuerySet[Grant]:
    return (
        Grant.objects.filter(user=user, desired=Grant.Desired.PRESENT)
        .select_related("entitlement__account")
        .order_by("entitlement__account__name", "entitlement__name")
    )


def annotate_held_and_pending(entitlements: QuerySet, user) -> QuerySet:
    """Mark each entitlement with whether `user` holds it or has a request pending for it."""
    return entitlements.annotate(
        held=Exists(Grant.objects.filter(user=user, entitlement=OuterRef("pk"), desired=Grant.Desired.PRESENT)),
        pending=Exists(
            AccessRequest.objects.filter(
                beneficiary=user, entitlement=OuterRef("pk"), state=AccessRequest.State.PENDING
            )
        ),
    )


def has_pending_sync(user) -> bool:
    return Grant.objects.filter(
        user=user, sync_state__in=[Grant.SyncState.PENDING, Grant.SyncState.IN_PROGRESS]
    ).exists()
