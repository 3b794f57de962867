"""Importing from AWS on the catalog console: asking for an import, and the worker's run with progress.

`request_import` is the one state change a page makes (audited `catalog.import_requested`); the worker's
`run_import` calls the importer (iam.catalog_import.importer, which audits each entitlement it creates and reads the
policies of each, storing a document it cannot read as a problem on its entitlement) and writes its
progress on the `ImportRun` row as it goes, with short conditional updates outside any transaction, so
the page's polling sees each kind as it is listed and each batch as it is saved; the summary counts the
entitlements whose policies could not be read, and names them. The task is queued with the run (outbox.enqueue): a
broker that cannot be reached is not an error for the person who clicked, the run waits until it is back.
"""

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_auditor, is_governance_admin
from audit.services import record
from catalog.models import AwsAccount, Entitlement
from iam.aws.errors import AwsError, TransientAwsError
from iam.catalog_import import importer
from iam.models import ImportRun
from inputs.refusals import InvalidInput, NotAllowed
from outbox.services import enqueue

RUN_TASK = "iam.run_import"
REQUESTED_ACTION = "catalog.import_requested"
# An import lists a few thousand things at most; one still waiting or running after this had its worker die.
STALE_AFTER = timedelta(minutes=30)
# What the progress line calls each kind, one and several.
LISTED: dict[str, tuple[str, str]] = {
    Entitlement.Kind.IAM_GROUP: ("IAM group", "IAM groups"),
    Entitlement.Kind.IAM_POLICY: ("managed policy", "managed policies"),
    Entitlement.Kind.IAM_ROLE: ("IAM role", "IAM roles"),
    Entitlement.Kind.SSO_PERMISSION_SET: ("permission set", "permission sets"),
}


def request_import(*, account_id: int, actor: User | None) -> tuple[ImportRun, bool]:
    """Queue an import of the account, or return the one already waiting or running for it (and False).

    Governance admins only. The run row is created, the request audited and the task queued in one
    transaction.
    """
    if actor is None or not is_governance_admin(actor) or is_auditor(actor):
        raise NotAllowed("Only governance admins import from AWS.")
    account = AwsAccount.objects.filter(pk=account_id).first()
    if account is None:
        raise InvalidInput("That AWS account does not exist.")
    _close_stale(account)
    try:
        with transaction.atomic():
            run = ImportRun.objects.create(
                account=account, requested_by=actor, steps_total=len(importer.kinds_to_list(account)) + 1
            )
            record(actor=actor, action=REQUESTED_ACTION, obj=account, after={"import_run": run.pk})
            enqueue(RUN_TASK, run.pk)
    except IntegrityError:  # one is already waiting or running: follow that one
        running = ImportRun.objects.filter(account=account, status__in=ImportRun.ACTIVE).first()
        if running is None:  # it finished in between: ask again
            return request_import(account_id=account_id, actor=actor)
        return running, False
    run.refresh_from_db()  # a worker may already have started it
    return run, True


def _close_stale(account: AwsAccount) -> None:
    """A run its worker never finished (killed, lost message) must not block imports for ever."""
    ImportRun.objects.filter(
        account=account, status__in=ImportRun.ACTIVE, requested_at__lt=timezone.now() - STALE_AFTER
    ).update(
        status=ImportRun.Status.FAILED,
        finished_at=timezone.now(),
        error="No worker finished this import in time; it was given up. Start another one.",
    )


def run_import(run_id: int, *, last_attempt: bool = True) -> ImportRun | None:
    """The worker's side: claim the run, import with progress, write the outcome.

    Returns None when there is nothing to do (already finished, or gone). A transient AWS error is raised
    again for the task to retry, unless `last_attempt`, when the run is closed as failed with AWS's words.
    """
    claimed = ImportRun.objects.filter(pk=run_id, status__in=ImportRun.ACTIVE).update(
        status=ImportRun.Status.RUNNING, started_at=timezone.now(), step="Connecting to AWS", error=""
    )
    if not claimed:
        return None
    run = ImportRun.objects.select_related("account", "requested_by").get(pk=run_id)
    mine = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.RUNNING)
    progress = {"steps": 0, "found": 0}

    def listed(kind: str, count: int) -> None:
        progress["steps"] += 1
        progress["found"] += count
        what = LISTED[kind][0 if count == 1 else 1]
        mine.update(steps_done=progress["steps"], found=progress["found"], step=f"Found {count} {what}")

    def saved(done: int, total: int) -> None:
        mine.update(step=f"Read the policies of {done} of {total} and saved them")

    try:
        result = importer.import_entitlements(run.account, actor=run.requested_by, progress=listed, saved=saved)
    except TransientAwsError as exc:
        if not last_attempt:
            mine.update(step=f"AWS did not answer ({exc.message}); trying again shortly")
            raise
        return _finish(run_id, status=ImportRun.Status.FAILED, error=_aws_failure(exc))
    except AwsError as exc:
        return _finish(run_id, status=ImportRun.Status.FAILED, error=_aws_failure(exc))
    except Exception:
        _finish(run_id, status=ImportRun.Status.FAILED, error="The import stopped on an unexpected error.")
        raise
    return _finish(
        run_id,
        status=ImportRun.Status.SUCCEEDED,
        steps_done=run.steps_total,
        step="Done",
        created=result.created,
        already_present=result.already_present,
        skipped=result.skipped,
        unreadable=len(result.unreadable),
        unreadable_names=list(result.unreadable[: ImportRun.UNREADABLE_NAMES_KEPT]),
    )


def _aws_failure(exc: AwsError) -> str:
    if isinstance(exc, TransientAwsError):
        words = "AWS did not answer in time, even after retrying. Nothing was imported; try again later."
    elif exc.code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        words = "The portal is not allowed to list this account's IAM (access denied). Nothing was imported."
    else:
        words = "AWS refused the listing. Nothing was imported."
    return f"{words} AWS said: {exc.message}"[:2000]


def _finish(run_id: int, *, status: str, **fields: Any) -> ImportRun | None:
    ImportRun.objects.filter(pk=run_id).update(status=status, finished_at=timezone.now(), **fields)
    return ImportRun.objects.filter(pk=run_id).first()
