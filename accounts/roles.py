"""Who someone is in the portal, derived from the data (DESIGN: roles are facts, not a table of grants).

Roles read other apps' rows through the reverse relations on the user (no imports upward):
- manager: has people reporting to them;
- owner: owns at least one entitlement;
- approver: has ever been assigned an approval step;
- reviewer: has been given review items;
- auditor: marked as such by a governance admin (read-only everywhere);
- governance admin: an active superuser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Exists

from inputs.refusals import NotAllowed


def is_governance_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def is_manager(user) -> bool:
    return user.is_authenticated and user.reports.filter(is_active=True).exists()


def is_owner(user) -> bool:
    return user.is_authenticated and user.owned_entitlements.exists()


def is_approver(user) -> bool:
    return user.is_authenticated and user.approval_assignments.exists()


def is_reviewer(user) -> bool:
    return user.is_authenticated and user.review_items.exists()


def decides_on_access(user) -> bool:
    """Approvers, reviewers, admins and auditors (who read every log and report): the people whose
    sign-in must carry a second factor."""
    if not user.is_authenticated:
        return False
    return (
        user.is_staff
        or is_governance_admin(user)
        or is_auditor(user)
        or is_manager(user)
        or is_owner(user)
        or is_approver(user)
        or is_reviewer(user)
    )


def is_auditor(user) -> bool:
    """Read-only across the portal: sees every page an admin sees, changes nothing."""
    return bool(user.is_authenticated and user.is_active and user.is_auditor)


def reads_everything(user) -> bool:
    """Governance admins and auditors may read every campaign, report and log."""
    return is_governance_admin(user) or is_auditor(user)


def require_governance_admin(actor, doing: str) -> None:
    """Refuse (NotAllowed, 403) unless the actor is an active governance admin: the guard of the services
    only admins may call (posture, drift, reconciliation, administration), with `doing` in the message."""
    if actor is None or not is_governance_admin(actor):
        raise NotAllowed(f"Only governance admins can {doing}.")


def menu_facts(user) -> dict[str, Exists]:
    """The facts the navigation's Approvals and Reviews menus follow from, as EXISTS expressions on
    indexes: read in one query with the navigation's badges (portal.context_processors), or alone by
    `menus_of`. Approvals: managers, owners, anyone ever given an approval step (and governance admins,
    `menus_from`). Reviews: anyone given review lines, or who runs a campaign."""
    return {
        "is_manager": Exists(user.reports.filter(is_active=True)),
        "is_owner": Exists(user.owned_entitlements.all()),
        "is_approver": Exists(user.approval_assignments.all()),
        "is_reviewer": Exists(user.review_items.all()),
        "runs_campaigns": Exists(user.owned_campaigns.all()),
    }


def menus_from(user, facts: Mapping[str, Any] | None) -> tuple[bool, bool]:
    """(may approve, takes part in reviews) from `menu_facts` as read (None: the person's row is gone)."""
    if facts is None:
        return is_governance_admin(user), False
    approves = facts["is_manager"] or facts["is_owner"] or facts["is_approver"] or is_governance_admin(user)
    return approves, facts["is_reviewer"] or facts["runs_campaigns"]


def menus_of(user) -> tuple[bool, bool]:
    """(may approve, takes part in reviews): whether the navigation shows Approvals and Reviews. One query
    of EXISTS on indexes, whatever the data."""
    from django.contrib.auth import get_user_model

    if not user.is_authenticated:
        return False, False
    facts: Mapping[str, Any] | None = get_user_model().objects.filter(pk=user.pk).values(**menu_facts(user)).first()
    return menus_from(user, facts)
