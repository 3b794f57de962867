"""A leaver's steps beyond the portal's grants: planned with the leaving, recorded as the AWS work goes.

`plan_leaver_steps` runs inside the transaction that marks the leaver (accounts.signals.person_left),
after their grants are ended: one row per AWS account and kind, and one `iam.leaver_account` task per
account queued with the change (outbox), so no AWS call runs inside a database transaction and none is
lost while the broker is down. The task (iam.reconcile.leavers) does the AWS work and reports each step here, in
a short transaction of its own: done with what AWS read back, retrying or failed with AWS's reason.
Each outcome is audited as `system:leaver`; once every step of the person is done, `person.nothing_left`
is audited with the seconds from leaving to then.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from access.models import Grant, LeaverStep
from access.services import task_names
from accounts.models import User
from audit.services import record
from catalog.models import AwsAccount
from outbox.services import enqueue_each

ACTOR_LABEL = "system:leaver"


def plan_leaver_steps(*, person: User, left_at: datetime) -> int:
    """Every kind of step in every account the portal governs; queue one task per account.

    Every account, not only those where the portal knows an IAM user: a user made outside the portal
    is found by reading (an account without one costs a GetUser and its steps are done at once).
    Idempotent: rows that exist are kept (the unique constraint), so a replay plans nothing twice.
    """
    accounts = list(AwsAccount.objects.order_by("pk").values_list("pk", flat=True))
    rows = [
        LeaverStep(person=person, account_id=account_id, kind=kind, position=position, left_at=left_at)
        for account_id in accounts
        for position, kind in enumerate(LeaverStep.ORDER)
    ]
    LeaverStep.objects.bulk_create(rows, ignore_conflicts=True)
    enqueue_each(task_names.LEAVER_ACCOUNT, [(person.pk, account_id) for account_id in accounts])
    return len(rows)


def steps_to_do(person_id: int, account_id: int) -> list[LeaverStep]:
    """The account's steps that are not done yet, in order (failed ones too: a rerun tries them again)."""
    return list(
        LeaverStep.objects.filter(person_id=person_id, account_id=account_id)
        .exclude(state=LeaverStep.State.DONE)
        .order_by("position")
    )


def step_done(step_id: int, evidence: str) -> bool:
    """Record the step done with its read back; False (nothing written) if it already was."""
    with transaction.atomic():
        # All the person's steps, in id order, then the audit head: two accounts' tasks finishing at once
        # queue here, and the second sees the first's step done (one `person.nothing_left`).
        person_id = LeaverStep.objects.values_list("person_id", flat=True).get(pk=step_id)
        steps = {s.pk: s for s in LeaverStep.objects.select_for_update().filter(person_id=person_id).order_by("pk")}
        step = steps[step_id]
        if step.state == LeaverStep.State.DONE:
            return False
        before = step.state
        step.state, step.evidence, step.error = LeaverStep.State.DONE, evidence[:4000], ""
        step.attempts += 1
        step.finished_at = timezone.now()
        step.save(update_fields=["state", "evidence", "error", "attempts", "finished_at"])
        record(
            actor=None,
            actor_label=ACTOR_LABEL,
            action="leaver.step_done",
            obj=step.person,
            before={"step": step.kind, "account": step.account.account_id, "state": before},
            after={"step": step.kind, "account": step.account.account_id, "state": "done", "evidence": step.evidence},
        )
        if all(s.state == LeaverStep.State.DONE for s in steps.values()):
            _nothing_left(step, list(steps.values()))
    return True


def step_not_done(step_id: int, error: str, *, final: bool, count_attempt: bool = True) -> LeaverStep:
    """Record a try that did not finish: retrying (a later task tries again) or failed (someone must look)."""
    with transaction.atomic():
        step = LeaverStep.objects.select_for_update().get(pk=step_id)
        if step.state == LeaverStep.State.DONE:
            return step
        state = LeaverStep.State.FAILED if final else LeaverStep.State.RETRYING
        changed = state != step.state or error[:4000] != step.error
        step.state, step.error = state, error[:4000]
        step.attempts += 1 if count_attempt else 0
        step.save(update_fields=["state", "error", "attempts"])
        if changed and (final or count_attempt):
            record(
                actor=None,
                actor_label=ACTOR_LABEL,
                action="leaver.step_failed" if final else "leaver.step_retrying",
                obj=step.person,
                after={"step": step.kind, "account": step.account.account_id, "state": state, "error": step.error},
            )
    return step


def grants_left(person_id: int, account_id: int, left_at: datetime) -> tuple[int, list[str]]:
    """Of the grants ended at leaving in this account: how many are not read back absent yet, and the
    errors of those that failed."""
    grants = Grant.objects.filter(
        user_id=person_id, entitlement__account_id=account_id, desired=Grant.Desired.ABSENT, ended_at=left_at
    ).exclude(sync_state=Grant.SyncState.REVOKED)
    failed = [
        f"{name}: {error or 'failed'}"
        for name, error in grants.filter(sync_state=Grant.SyncState.FAILED).values_list(
            "entitlement__name", "last_error"
        )
    ]
    return grants.count(), failed


def _nothing_left(step: LeaverStep, steps: list[LeaverStep]) -> None:
    finished = max(s.finished_at for s in steps if s.finished_at is not None)  # every done step has one
    record(
        actor=None,
        actor_label=ACTOR_LABEL,
        action="person.nothing_left",
        obj=step.person,
        after={"seconds_to_nothing_left": round((finished - step.left_at).total_seconds(), 3), "steps": len(steps)},
    )


def seconds_to_nothing_left(person: User) -> float | None:
    """From leaving to the last step done, once every step is done; None while something is left."""
    steps = list(LeaverStep.objects.filter(person=person).values_list("state", "finished_at", "left_at"))
    if not steps or any(state != LeaverStep.State.DONE for state, _, _ in steps):
        return None
    finished = [f for _, f, _ in steps if f is not None]
    return round((max(finished) - steps[0][2]).total_seconds(), 3) if finished else None
