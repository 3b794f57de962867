"""Who decides a request: the approval plan drawn from the entitlement's policy.

Pure planning, no writes: the services turn a plan into Approval and ApprovalAssignment
rows. Nobody is ever planned to decide their own request, and auditors decide nothing: where a
stage's approvers are the requester, the beneficiary or auditors, the stage passes to the next eligible person
(manager's manager, another owner, the policy's fallback approver, governance admins, in
that order), and the reason is kept with the assignment.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from access.models import ApprovalAssignment
from accounts.models import User
from catalog.models import ApprovalPolicy, ApprovalStage, Entitlement, Risk

ADMINS = None  # an assignment with no person: any governance admin may decide


@dataclass(frozen=True)
class StageSpec:
    approvers: str
    mode: str = ApprovalStage.Mode.ANY
    required: int = 1
    named: tuple[User, ...] = ()


# Used when no policy is configured for an entitlement or its risk level.
BUILT_IN_STAGES: dict[str, list[StageSpec]] = {
    Risk.LOW: [StageSpec(ApprovalStage.Approvers.MANAGER)],
    Risk.MEDIUM: [StageSpec(ApprovalStage.Approvers.MANAGER), StageSpec(ApprovalStage.Approvers.OWNERS)],
    Risk.HIGH: [StageSpec(ApprovalStage.Approvers.MANAGER), StageSpec(ApprovalStage.Approvers.OWNERS)],
}
LABELS: dict[str, str] = {
    ApprovalStage.Approvers.MANAGER: "Manager",
    ApprovalStage.Approvers.OWNERS: "Entitlement owner",
    ApprovalStage.Approvers.NAMED: "Named approver",
    ApprovalStage.Approvers.GOVERNANCE_ADMINS: "Governance admins",
}


@dataclass
class PlannedAssignment:
    approver: User | None  # None: ADMINS
    reason: str


@dataclass
class PlannedStage:
    label: str
    required: int
    assignments: list[PlannedAssignment] = field(default_factory=list)
    sod_rule_id: int | None = None


@dataclass
class Plan:
    policy_name: str
    automatic: bool
    stages: list[PlannedStage]


def eligible(person: User | None, excluded: set[int]) -> bool:
    """Whether `person` may be asked to decide: active, not a leaver, not an auditor, not one of `excluded`.

    Auditors are skipped like the requester: who checks the governance does not take part in it, even
    when they manage someone or own an entitlement (HR makes auditors managers; refusing the
    combination would refuse the organisation chart). The stage passes up the chain instead, and the
    service refuses an auditor's decision on a vote made before they became one.
    """
    return (
        person is not None
        and person.is_active
        and not person.is_leaver
        and not person.is_auditor
        and person.pk not in excluded
    )


def policy_for(entitlement: Entitlement) -> ApprovalPolicy | None:
    if entitlement.approval_policy_id:
        return entitlement.approval_policy
    return ApprovalPolicy.objects.filter(default_for_risk=entitlement.risk).first()


def _stage_specs(policy: ApprovalPolicy | None, entitlement: Entitlement) -> list[StageSpec]:
    if policy is None:
        return BUILT_IN_STAGES[entitlement.risk]
    return [
        StageSpec(stage.approvers, stage.mode, stage.required, tuple(stage.named_approvers.all()))
        for stage in policy.stages.prefetch_related("named_approvers").order_by("order")
    ]


def _manager_chain(beneficiary: User, excluded: set[int]) -> list[PlannedAssignment]:
    manager = beneficiary.manager
    skipped: list[str] = []
    seen: set[int] = set()
    while manager is not None and manager.pk not in seen:
        seen.add(manager.pk)
        if eligible(manager, excluded):
            if not skipped:
                return [PlannedAssignment(manager, f"Manager of {beneficiary}")]
            return [PlannedAssignment(manager, f"Manager higher up: {', '.join(skipped)} may not decide")]
        skipped.append(str(manager))
        manager = manager.manager
    return []


def _fallback(policy: ApprovalPolicy | None, excluded: set[int], why: str) -> PlannedAssignment:
    fallback = policy.fallback_approver if policy else None
    if eligible(fallback, excluded):
        return PlannedAssignment(fallback, f"Fallback approver: {why}")
    return PlannedAssignment(ADMINS, f"Governance admins: {why}")


def _plan_stage(
    spec: StageSpec, policy: ApprovalPolicy | None, entitlement: Entitlement, beneficiary: User, excluded: set[int]
) -> PlannedStage:
    kinds = ApprovalStage.Approvers
    if spec.approvers == kinds.GOVERNANCE_ADMINS:
        return PlannedStage(
            LABELS[spec.approvers], 1, [PlannedAssignment(ADMINS, "Governance admins decide this stage")]
        )
    if spec.approvers == kinds.MANAGER:
        people = _manager_chain(beneficiary, excluded)
        why = f"{beneficiary} has no manager who may decide"
    elif spec.approvers == kinds.OWNERS:
        owners = sorted(entitlement.owners.all(), key=lambda owner: owner.pk)
        people = [
            PlannedAssignment(owner, f"Owner of {entitlement.name}") for owner in owners if eligible(owner, excluded)
        ]
        why = f"no owner of {entitlement.name} may decide"
    else:
        people = [PlannedAssignment(person, "Named approver") for person in spec.named if eligible(person, excluded)]
        why = "no named approver may decide"
    if not people:
        return PlannedStage(LABELS[spec.approvers], 1, [_fallback(policy, excluded, why)])
    if spec.mode == ApprovalStage.Mode.ALL:
        required = len(people)
    elif spec.mode == ApprovalStage.Mode.N_OF:
        required = min(spec.required, len(people))
    else:
        required = 1
    return PlannedStage(LABELS[spec.approvers], required, people)


def plan_sod_stage(
    rule_name: str, owner: User | None, entitlement: Entitlement, requester: User, beneficiary: User
) -> PlannedStage:
    """The extra stage a separation-of-duties rule with `exception` enforcement adds: its owner decides."""
    excluded = {requester.pk, beneficiary.pk}
    label = f"Separation of duties: {rule_name}"
    if eligible(owner, excluded):
        return PlannedStage(label, 1, [PlannedAssignment(owner, f"Owner of the rule '{rule_name}'")])
    why = f"the owner of the rule '{rule_name}' may not decide"
    return PlannedStage(label, 1, [_fallback(policy_for(entitlement), excluded, why)])


@dataclass(frozen=True)
class Route:
    """The policy an entitlement's requests follow and its stages (none when approved automatically)."""

    policy: ApprovalPolicy | None
    name: str
    automatic: bool
    specs: list[StageSpec]


def route_for(entitlement: Entitlement) -> Route:
    """Which policy applies to `entitlement` as it stands (saved or not) and the stages it sets."""
    policy = policy_for(entitlement)
    name = policy.name if policy else f"Built-in default for {entitlement.get_risk_display().lower()} risk"
    if policy and policy.auto_approve and entitlement.risk == Risk.LOW:
        return Route(policy, name, True, [])
    return Route(policy, name, False, _stage_specs(policy, entitlement))


def plan_approvals(entitlement: Entitlement, requester: User, beneficiary: User) -> Plan:
    """The ordered stages and who may decide each, for this requester and beneficiary."""
    route = route_for(entitlement)
    if route.automatic:
        return Plan(route.name, True, [])
    excluded = {requester.pk, beneficiary.pk}
    stages = [_plan_stage(spec, route.policy, entitlement, beneficiary, excluded) for spec in route.specs]
    return Plan(route.name, False, stages)


def may_decide(assignment: ApprovalAssignment, actor: User) -> bool:
    """Whether `actor` may cast this assignment's vote (own requests are refused before this)."""
    if assignment.approver_id is not None:
        return assignment.approver_id == actor.pk
    return actor.is_governance_admin


@dataclass(frozen=True)
class OutlinedStage:
    number: int
    label: str
    who: str  # the people, when the policy or the entitlement names them
    rule: str  # how many of them must approve


@dataclass(frozen=True)
class Outline:
    """A policy's stages as a request for the entitlement would meet them, before anyone asks."""

    policy_name: str
    automatic: bool
    stages: list[OutlinedStage]
    fallback: str


def _people(people: Iterable[User]) -> str:
    return ", ".join(str(person) for person in people)


def _rule(spec: StageSpec) -> str:
    if spec.mode == ApprovalStage.Mode.ALL:
        return "all of them"
    if spec.mode == ApprovalStage.Mode.N_OF:
        return f"{spec.required} of them"
    return "any one of them"


def outline_stages(entitlement: Entitlement, owners: Iterable[User]) -> Outline:
    """The stages a request for `entitlement` would go through, from the same `route_for` as
    `plan_approvals`, for the catalog console. The requester is not known yet, so their manager is
    described; the owners are the ones given (the console shows a choice before it is saved)."""
    route = route_for(entitlement)
    policy = route.policy
    fallback = str(policy.fallback_approver) if policy and policy.fallback_approver_id else "Governance admins"
    owners = sorted(owners, key=lambda owner: owner.pk)
    stages = []
    for number, spec in enumerate(route.specs, 1):
        if spec.approvers == ApprovalStage.Approvers.MANAGER:
            label, who = "Requester's manager", "or the next one up when they may not decide"
        elif spec.approvers == ApprovalStage.Approvers.OWNERS:
            label, who = LABELS[spec.approvers], _people(owners) or "nobody yet: the fallback decides"
        elif spec.approvers == ApprovalStage.Approvers.NAMED:
            label, who = LABELS[spec.approvers], _people(spec.named) or "nobody named: the fallback decides"
        else:
            label, who = LABELS[spec.approvers], "any governance admin"
        rule = "one of them" if spec.approvers == ApprovalStage.Approvers.GOVERNANCE_ADMINS else _rule(spec)
        stages.append(OutlinedStage(number, label, who, rule))
    return Outline(route.name, route.automatic, stages, fallback)


def needs_owners(entitlement: Entitlement) -> bool:
    """Whether requests for `entitlement` would have a stage its owners decide."""
    return any(spec.approvers == ApprovalStage.Approvers.OWNERS for spec in route_for(entitlement).specs)


def plan_manager_stage(entitlement: Entitlement, requester: User, beneficiary: User) -> PlannedStage:
    """The manager stage of a request as the organisation chart stands now: for a mover's pending
    requests, re-routed to their new manager (access.services.rerouting)."""
    excluded = {requester.pk, beneficiary.pk}
    spec = StageSpec(ApprovalStage.Approvers.MANAGER)
    return _plan_stage(spec, policy_for(entitlement), entitlement, beneficiary, excluded)
