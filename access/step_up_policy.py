"""Which approvals need a second factor proven minutes ago (accounts.step_up_proof), asked by the inbox and
the API alike before they call the service: approving a high-risk request, or a stage that grants a
separation-of-duties exception."""

from collections.abc import Collection
from typing import cast

from django.db.models import Q
from django.http import HttpRequest

from access import selectors
from accounts import step_up_proof
from accounts.models import User
from catalog.models import Risk

GRANTING_EXCEPTION = "Granting a separation-of-duties exception"
APPROVING_HIGH_RISK = "Approving a high-risk request"


def step_up_reason(actor: User, request_ids: Collection[int]) -> str | None:
    """What, in approving these requests, needs a fresh second factor; None when nothing does.

    Only votes the actor may cast now count: a request they cannot decide is refused by the service
    as usual, without asking them for a code first.
    """
    flagged = (
        selectors.pending_assignments_for(actor)
        .filter(approval__request_id__in=request_ids)
        .filter(Q(approval__sod_rule__isnull=False) | Q(approval__request__entitlement__risk=Risk.HIGH))
        .values_list("approval__sod_rule_id", flat=True)
    )
    rules = list(flagged)
    if not rules:
        return None
    return GRANTING_EXCEPTION if any(rules) else APPROVING_HIGH_RISK


def step_up_needed(request: HttpRequest, request_ids: Collection[int]) -> str | None:
    """`step_up_reason` unless this session (page or API) proved a second factor recently enough."""
    # The session is read first: with a fresh proof no query is made.
    if step_up_proof.has_fresh_second_factor(request):
        return None
    # Asked only on pages and API calls behind sign-in (the API passes DRF's Request, which relays `user`).
    return step_up_reason(cast(User, request.user), request_ids)
