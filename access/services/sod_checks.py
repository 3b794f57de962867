"""Where access meets separation of duties: the checks at submission and at every approval step."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model

from access.models import AccessRequest, Grant
from access.routing import Plan, PlannedStage, plan_approvals, plan_sod_stage
from access.services.stages import create_stage
from accounts.models import User
from audit.services import record
from catalog.models import Entitlement
from inputs.refusals import InvalidInput, SodBlocked
from sod import services as sod

MAX_EXCEPTION_DAYS = 365


@dataclass(frozen=True)
class ExceptionTerms:
    """What the owner of a separation-of-duties rule records when approving an exception."""

    mitigating_control: str
    ends_at: datetime


def held_entitlement_ids(user: User) -> set[int]:
    return set(Grant.objects.filter(user=user, desired=Grant.Desired.PRESENT).values_list("entitlement_id", flat=True))


def findings_for(beneficiary: User, entitlement: Entitlement, also: Collection[int] = frozenset()) -> list[sod.Finding]:
    """Conflicts of adding `entitlement` to what the beneficiary holds (plus `also`, e.g. the rest of a cart).

    Raises SodBlocked for the first conflict a `block` rule forbids and no exception covers.
    """
    findings = sod.check(beneficiary, entitlement, held_entitlement_ids(beneficiary) | set(also))
    blocking = [finding for finding in findings if finding.blocks]
    if blocking:
        raise SodBlocked(blocking[0].message)
    return findings


def sod_stages_for(
    findings: list[sod.Finding], entitlement: Entitlement, requester: User, beneficiary: User
) -> list[PlannedStage]:
    """One extra stage per `exception` rule not yet covered: the rule's owner approves an exception."""
    needing = [finding for finding in findings if finding.needs_exception]
    owners = get_user_model().objects.in_bulk([finding.rule.owner_id for finding in needing])
    stages = []
    for finding in needing:
        stage = plan_sod_stage(
            finding.rule.name, owners.get(finding.rule.owner_id), entitlement, requester, beneficiary
        )
        stage.sod_rule_id = finding.rule.id
        stages.append(stage)
    return stages


def plan_with_sod(entitlement: Entitlement, requester: User, beneficiary: User, findings: list[sod.Finding]) -> Plan:
    """The approval plan with the stages separation of duties adds (an exception needs a person, so such a
    request is never approved automatically): what submission stores, and what the form shows before."""
    plan = plan_approvals(entitlement, requester, beneficiary)
    extra = sod_stages_for(findings, entitlement, requester, beneficiary)
    if extra:
        plan.automatic, plan.stages = False, [*plan.stages, *extra]
    return plan


@dataclass(frozen=True)
class SodNotice:
    """A conflict a requester sees on the form before sending, with what they can do about it."""

    entitlement: str  # what is being asked for
    rule: str
    why: str
    blocks: bool  # a `block` rule: submission will refuse it
    needs_exception: bool  # an `exception` rule: the rule's owner will decide after the usual approvals
    held: list[str]  # what the beneficiary holds that conflicts
    in_request: list[str]  # what else in the same request conflicts
    actions: tuple  # for a permission rule, the actions held together
    owner: str
    covered_until: datetime | None  # an exception already covers it


def findings_before_sending(beneficiary: User, entitlements: list[Entitlement]) -> dict[int, list[sod.Finding]]:
    """The judgement submission will make of these entitlements asked for together (each against what the
    beneficiary holds and the others), without refusing or recording anything. A few queries, whatever the
    number of entitlements."""
    return sod.check_many(beneficiary, entitlements, held_entitlement_ids(beneficiary))


def notices_for(
    findings: dict[int, list[sod.Finding]], entitlements: list[Entitlement], beneficiary: User
) -> dict[int, list[SodNotice]]:
    """Findings in the words of the request form: which of what is held, which of what is asked for."""
    found = [finding for items in findings.values() for finding in items]
    if not found:
        return {entitlement.pk: [] for entitlement in entitlements}
    asked = {entitlement.pk for entitlement in entitlements}
    held = held_entitlement_ids(beneficiary)
    ids = {pk for finding in found for pk in finding.conflict.entitlements}
    names = dict(Entitlement.objects.filter(pk__in=ids).values_list("pk", "name"))
    owners = get_user_model().objects.in_bulk({finding.rule.owner_id for finding in found})
    notices: dict[int, list[SodNotice]] = {}
    for entitlement in entitlements:
        notices[entitlement.pk] = []
        for finding in findings[entitlement.pk]:
            others = [pk for pk in finding.conflict.entitlements if pk != entitlement.pk]
            owner = owners.get(finding.rule.owner_id)
            notices[entitlement.pk].append(
                SodNotice(
                    entitlement=entitlement.name,
                    rule=finding.rule.name,
                    why=finding.rule.why,
                    blocks=finding.blocks,
                    needs_exception=finding.needs_exception,
                    held=sorted(names[pk] for pk in others if pk in held and pk in names),
                    in_request=sorted(names[pk] for pk in others if pk in asked and pk not in held and pk in names),
                    actions=finding.conflict.actions,
                    owner=(owner.full_name or owner.email) if owner else "the rule's owner",
                    covered_until=finding.exception.ends_at if finding.exception else None,
                )
            )
    return notices


def recheck_separation_of_duties(access_request: AccessRequest, now: datetime) -> None:
    """At every approval step: the beneficiary's access may have changed since the request was made."""
    findings = findings_for(access_request.beneficiary, access_request.entitlement)  # raises SodBlocked
    access_request.sod_findings = [finding.message for finding in findings]
    access_request.save(update_fields=["sod_findings"])
    covered = set(access_request.approvals.exclude(sod_rule=None).values_list("sod_rule_id", flat=True))
    new_stages = [
        stage
        for stage in sod_stages_for(
            findings, access_request.entitlement, access_request.requester, access_request.beneficiary
        )
        if stage.sod_rule_id not in covered
    ]
    last = access_request.approvals.order_by("-step").values_list("step", flat=True).first() or 0
    for number, planned in enumerate(new_stages, start=last + 1):
        added = create_stage(access_request, number, planned)
        record(
            actor=None,
            actor_label="system:sod",
            action="approval.sod_stage_added",
            obj=added,
            after={"request": access_request.pk, "rule": planned.sod_rule_id, "label": planned.label},
        )


def record_exception(
    access_request: AccessRequest, rule_id: int, actor: User, terms: ExceptionTerms | None, now: datetime
) -> None:
    if terms is None or not (terms.mitigating_control or "").strip():
        raise InvalidInput(
            "Describe the mitigating control that makes this exception acceptable.", field="mitigating_control"
        )
    if not now < terms.ends_at <= now + timedelta(days=MAX_EXCEPTION_DAYS):
        raise InvalidInput(
            f"The exception must end in the future and within {MAX_EXCEPTION_DAYS} days.", field="exception_ends"
        )
    sod.grant_exception(
        rule_id=rule_id,
        user=access_request.beneficiary,
        mitigating_control=terms.mitigating_control.strip(),
        ends_at=terms.ends_at,
        approved_by=actor,
        request_id=access_request.pk,
    )
