"""Who decides a request. Grows into configurable approval policies; for now one step, the manager."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    approver: object | None  # a User, or None when governance admins decide
    note: str


def first_step_route(beneficiary) -> Route:
    """The beneficiary's manager decides; without an active manager, governance admins do."""
    manager = beneficiary.manager
    if manager is not None and manager.is_active and not manager.is_leaver:
        return Route(manager, f"Manager of {beneficiary}")
    return Route(None, f"{beneficiary} has no active manager: routed to governance admins")


def may_decide(step, actor) -> bool:
    if step.approver_id is not None:
        return step.approver_id == actor.pk
    return actor.is_governance_admin
