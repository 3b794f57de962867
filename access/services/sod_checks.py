"""Where access meets separation of duties: the checks at submission and at every approval step."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model

from access.errors import InvalidInput, SodBlocked
from access.models import AccessRequest, Grant
from access.routing import PlannedStage, plan_sod_stage
from access.services.stages import create_stage
from audit.services import record
from sod import services as sod

MAX_EXCEPTION_DAYS = 365


@dataclass(frozen=True)
class ExceptionTerms:
    """What the owner of a separation-of-duties rule records when approving an exception."""

    mitigating_control: str
    ends_at: datetime


def held_entitlement_ids(user) -> set[int]:
    return set(Grant.objects.filter(user=user, desired=Grant.Desired.PRESENT).values_list("entitlement_id", flat=True))


def findings_for(beneficiary, entitlement, also: set[int] = frozenset()) -> list[sod.Finding]:
    """Conflicts of adding `entitlement` to what the beneficiary holds (plus `also`, e.g. the rest of a cart).

    Raises SodBlocked for the first conflict a `block` rule forbids and no exception covers.
    """
    findings = sod.check(beneficiary, entitlement, held_entitlement_ids(beneficiary) | set(also))
    blocking = [finding for finding in findings if finding.blocks]
    if blocking:
        raise SodBlocked(blocking[0].message)
    return findings


def sod_stages_for(findings: list[sod.Finding], entitlement, requester, beneficiary) -> list[PlannedStage]:
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


def recheck_separation_of_duties(access_request: AccessRequest, now) -> None:
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


def record_exception(access_request, stage, actor, terms: ExceptionTerms | None, now) -> None:
    if terms is None or not (terms.mitigating_control or "").strip():
        raise InvalidInput(
            "Describe the mitigating control that makes this exception acceptable.", field="mitigating_control"
        )
    if not now < terms.ends_at <= now + timedelta(days=MAX_EXCEPTION_DAYS):
        raise InvalidInput(
            f"The exception must end in the future and within {MAX_EXCEPTION_DAYS} days.", field="exception_ends"
        )
    sod.grant_exception(
        rule_id=stage.sod_rule_id,
        user=access_request.beneficiary,
        mitigating_control=terms.mitigating_control.strip(),
        ends_at=terms.ends_at,
        approved_by=actor,
        request_id=access_request.pk,
    )
