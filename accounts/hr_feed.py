"""Reading the HR feed (CSV: joiners, movers and leavers) and applying it: checked whole, applied in batches.

A bad file is refused as a whole before anything changes. A good one is applied in batches of BATCH_SIZE rows,
managers before their reports, each batch one short transaction that writes its people in bulk, moves the
run's progress on (`accounts.FeedRun`) and records its audit events with one `record_many` at its end: the
audit chain's head, which every audited write in the portal waits for, is held only for the tail of one
short transaction, never for the whole file. A run stopped half-way is resumed by running the same file
again, from its last committed batch.
"""

import csv
import hashlib
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import LAST_ADMIN_MESSAGE, FeedRun, User
from accounts.services import PersonRecord, mark_leaver, upsert_person
from accounts.signals import manager_change_consequences, name_changed
from audit.services import record_many
from audit.transactions import atomic_with_retries
from inputs.refusals import Refusal

COLUMNS = ["email", "full_name", "title", "department", "manager_email", "status"]
STATUSES = {"active", "leaver"}
ACTOR_LABEL = "system:hr-feed"
# Rows per transaction: short enough that approvals and grant syncs waiting for the audit head or a
# person's row wait a few milliseconds, long enough that a 10,000-person file is a few dozen commits.
BATCH_SIZE = 250
# The columns' sizes in the database: a longer value is refused with the file, not by the database half-way.
LIMITS = {
    "email": User._meta.get_field("email").max_length,
    "full_name": User._meta.get_field("full_name").max_length,
    "title": User._meta.get_field("title").max_length,
    "department": User._meta.get_field("department").max_length,
}


@dataclass
class FeedResult:
    joined: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    unchanged: int = 0


class FeedError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def decode(raw: bytes, name: str = "The file") -> io.StringIO:
    """The feed's text, or a refusal: it must be UTF-8 (a byte-order mark is allowed).

    A feed saved in another encoding (Latin-1 from a spreadsheet, say) would otherwise stop half-way
    with a traceback, or worse, put mis-decoded names on people; and a file with NUL bytes is not a CSV.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FeedError(
            [f"{name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8 CSV."]
        ) from None
    if "\x00" in text:
        raise FeedError([f"{name} holds NUL bytes: it is not a CSV text file."])
    return io.StringIO(text, newline="")


def parse(handle) -> list[PersonRecord]:
    """Every row checked before anything is applied; all problems reported with their line."""
    try:
        return _parse(handle)
    except csv.Error as exc:
        raise FeedError([f"The file is not a readable CSV: {exc}."]) from None


def _parse(handle) -> list[PersonRecord]:
    reader = csv.DictReader(handle)
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise FeedError([f"The file needs the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}."])
    records, problems = [], []
    seen: dict[str, int] = {}  # email -> the line it was first on
    for line, row in enumerate(reader, start=2):
        values = {column: (row.get(column) or "").strip() for column in COLUMNS}
        values["email"], values["manager_email"] = values["email"].lower(), values["manager_email"].lower()
        values["status"] = values["status"].lower() or "active"
        try:
            validate_email(values["email"])
        except ValidationError:
            problems.append(f"Line {line}: {values['email']!r} is not an email address.")
            continue
        if values["email"] in seen:
            problems.append(f"Line {line}: {values['email']} is already on line {seen[values['email']]}.")
        seen[values["email"]] = line
        if not values["full_name"]:
            problems.append(f"Line {line}: {values['email']} has no full_name.")
        if values["status"] not in STATUSES:
            problems.append(f"Line {line}: status must be active or leaver, not {values['status']!r}.")
        if values["manager_email"] == values["email"]:
            problems.append(f"Line {line}: {values['email']} cannot be their own manager.")
        for column, limit in LIMITS.items():
            if limit is not None and len(values[column]) > limit:
                problems.append(f"Line {line}: {column} is longer than {limit} characters.")
        records.append(PersonRecord(**values))
    known = set(seen) | set(
        User.objects.filter(email__in=[r.manager_email for r in records]).values_list("email", flat=True)
    )
    for record_ in records:
        if record_.manager_email and record_.manager_email not in known:
            problems.append(
                f"Line {seen[record_.email]}: manager {record_.manager_email} is neither in the file nor in the portal."
            )
    # A re-hire is a new, clean identity, never a leaver brought back (as SCIM refuses it too): their old
    # record keeps the evidence of what they held and lost, and their old IAM users keep inactive keys.
    leavers = set(
        User.objects.alias(lowered=Lower("email"))
        .filter(
            lowered__in=[r.email for r in records if r.status == "active"],
            employment_status=User.EmploymentStatus.LEAVER,
        )
        .annotate(lowered_email=Lower("email"))
        .values_list("lowered_email", flat=True)
    )
    for record_ in records:
        if record_.email in leavers:
            problems.append(
                f"Line {seen[record_.email]}: {record_.email} has left and is not brought back: a re-hire is a new "
                "person, with a new email address."
            )
    problems.extend(_loops_with_the_portal(records, seen))
    problems.extend(_last_governance_admin_leaving(records, seen))
    if problems:
        raise FeedError(problems)
    return records


def _loops_with_the_portal(records: list[PersonRecord], lines: dict[str, int]) -> list[str]:
    """Manager loops the file would form, within itself or with people already in the portal.

    The file's managers replace the portal's for the people it names; everyone else keeps theirs. A
    loop is refused like the portal's own forms (and SCIM) refuse one: nobody may end up managing
    themself through a chain of reports.
    """
    managers = {
        email.lower(): (manager or "").lower()
        for email, manager in User.objects.filter(manager__isnull=False).values_list("email", "manager__email")
    }
    managers.update({record_.email: record_.manager_email for record_ in records})
    problems, reported = [], set()
    for record_ in records:
        chain, current = [record_.email], record_.manager_email
        while current and current not in chain and len(chain) <= len(managers):
            chain.append(current)
            current = managers.get(current, "")
        if current == record_.email and len(chain) > 1 and frozenset(chain) not in reported:
            reported.add(frozenset(chain))
            problems.append(
                f"Managers form a loop (line {lines[record_.email]}): {' → '.join([*chain, record_.email])}."
            )
    return problems


def _last_governance_admin_leaving(records: list[PersonRecord], lines: dict[str, int]) -> list[str]:
    """The file may not take every active governance admin away (as no other door may): refused up front,
    since its leavers are applied batch by batch and a refusal half-way would leave half a file applied."""
    leaving = {record_.email for record_ in records if record_.status == "leaver"}
    admins = list(
        User.objects.filter(is_superuser=True, is_active=True)
        .exclude(employment_status=User.EmploymentStatus.LEAVER)
        .annotate(lowered_email=Lower("email"))
        .order_by("pk")
    )
    if not admins or any(admin.lowered_email not in leaving for admin in admins):
        return []
    last = admins[-1]
    return [f"Line {lines[last.lowered_email]}: {LAST_ADMIN_MESSAGE.format(person=last)}"]


def _managers_first(records: list[PersonRecord]) -> list[PersonRecord]:
    """Order rows so each person's manager (when in the file) comes before them; refuse cycles."""
    by_email = {record_.email: record_ for record_ in records}
    ordered, placed = [], set()

    def place(record_, chain):
        if record_.email in placed:
            return
        if record_.email in chain:
            raise FeedError([f"Managers form a loop: {' → '.join([*chain, record_.email])}."])
        manager = by_email.get(record_.manager_email)
        if manager is not None:
            place(manager, [*chain, record_.email])
        placed.add(record_.email)
        ordered.append(record_)

    for record_ in records:
        place(record_, [])
    return ordered


def digest(raw: bytes) -> str:
    """The file's SHA-256: the same file run again resumes its unfinished run."""
    return hashlib.sha256(raw).hexdigest()


def open_run(
    records: list[PersonRecord], *, file_digest: str, file_name: str = "", requested_by=None, requested_label: str
) -> tuple[FeedRun, bool]:
    """The unfinished run of this very file, to carry on from its last batch, or a new run. Returns the run and
    whether it resumes one."""
    unfinished = FeedRun.objects.filter(file_digest=file_digest, state__in=FeedRun.UNFINISHED).first()
    if unfinished is not None:
        return unfinished, True
    try:
        with transaction.atomic():
            run = FeedRun.objects.create(
                requested_by=requested_by,
                requested_label=requested_label[:150],
                file_name=file_name[-255:],
                file_digest=file_digest,
                total_rows=len(records),
            )
        return run, False
    except IntegrityError:  # the same file started at this moment elsewhere: both carry on with that run
        return FeedRun.objects.get(file_digest=file_digest, state__in=FeedRun.UNFINISHED), True


@dataclass
class Batch:
    """What one batch's transaction applied, and the run as it committed."""

    run: FeedRun
    joined: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    unchanged: int = 0


def apply(
    records: list[PersonRecord],
    run: FeedRun,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[FeedRun], None] | None = None,
) -> FeedResult:
    """Apply the checked rows from where `run` got to, batch by batch: joiners and movers in bulk (managers
    before their reports), leavers one by one. Returns what this call applied; the run counts the whole file.

    A batch the database refuses (or a lost connection) stops the run as failed, with the reason in words:
    the batches before it stay applied, and running the same file again carries on from there.
    """
    ordered = _managers_first(records)
    if len(ordered) != run.total_rows:
        raise ValueError("the run was opened for another file")
    result = FeedResult()
    FeedRun.objects.filter(pk=run.pk, state=FeedRun.State.FAILED).update(
        state=FeedRun.State.RUNNING, error="", updated_at=timezone.now()
    )
    applied = run.rows_applied
    try:
        while (batch := apply_batch(run.pk, ordered, batch_size=batch_size)) is not None:
            applied = batch.run.rows_applied
            result.joined += batch.joined
            result.moved += batch.moved
            result.left += batch.left
            result.unchanged += batch.unchanged
            if progress is not None:
                progress(batch.run)
    except (FeedError, DatabaseError) as exc:
        window = ordered[applied : applied + batch_size]
        reason = (
            " ".join(exc.problems)
            if isinstance(exc, FeedError)
            else (
                f"the database refused a row among rows {applied + 1} to {applied + len(window)} of the file in "
                f"the order applied ({window[0].email} to {window[-1].email}): {str(exc).strip().splitlines()[0]}"
            )
        )
        _stop(run.pk, reason)
        raise FeedError(
            [
                f"The feed stopped after {applied} of {run.total_rows} rows: {reason}",
                f"The {applied} rows before were applied and kept; run the same file again to carry on from there.",
            ]
        ) from exc
    return result


def _stop(run_id: int, reason: str) -> None:
    """Mark the run failed with why, so the admin shows it; a connection the database dropped is opened
    again once. If even that fails the run stays `running`: running the file again resumes it all the same."""
    for attempt in (1, 2):
        try:
            FeedRun.objects.filter(pk=run_id, state=FeedRun.State.RUNNING).update(
                state=FeedRun.State.FAILED, error=reason, updated_at=timezone.now()
            )
            return
        except DatabaseError:
            if attempt == 2 or connection.in_atomic_block:
                return
            connection.close()


@atomic_with_retries(lambda message: FeedError([message]))
def apply_batch(run_id: int, ordered: list[PersonRecord], *, batch_size: int = BATCH_SIZE) -> Batch | None:
    """The run's next rows, in one transaction with its progress; None once every row is applied.

    Locks (docs/architecture.md, "Locks and retries"): the run (two processes running the same file take
    turns, neither applies a row twice), then the batch's people by id, then the audit head, last: the
    quiet rows' events go in one `record_many` at the very end; a leaver or a mover whose approvals follow
    them is a batch of their own, through the services every other door calls.
    """
    run = FeedRun.objects.select_for_update().get(pk=run_id)
    window = ordered[run.rows_applied : run.rows_applied + batch_size]
    if run.state == FeedRun.State.SUCCEEDED or not window:
        return None
    people = _lock_people(window)
    managers = _pks_by_email({record_.manager_email for record_ in window if record_.manager_email})
    one_by_one = _with_consequences(window, people, managers)
    batch, events = Batch(run=run), []
    if window[0].email in one_by_one:
        _apply_one(window[0], people.get(window[0].email), batch)
        rows = 1
    else:
        quiet = []
        for record_ in window:
            if record_.email in one_by_one:
                break
            quiet.append(record_)
        events = _apply_quiet(quiet, people, managers, batch)
        rows = len(quiet)
    run.rows_applied += rows
    run.joined += len(batch.joined)
    run.moved += len(batch.moved)
    run.left += len(batch.left)
    run.unchanged += batch.unchanged
    run.updated_at = timezone.now()
    if run.rows_applied == run.total_rows:
        run.state, run.finished_at = FeedRun.State.SUCCEEDED, run.updated_at
    run.save()
    record_many(events)  # last: the chain head is held from here to the commit only
    return batch


def _lock_people(window: list[PersonRecord]) -> dict[str, User]:
    """The batch's people already in the portal, by lower-cased email, locked in id order."""
    locked = (
        User.objects.select_for_update(no_key=True)
        .alias(lowered=Lower("email"))
        .filter(lowered__in=[record_.email for record_ in window])
        .order_by("pk")
    )
    return {person.email.lower(): person for person in locked}


def _pks_by_email(emails: set[str]) -> dict[str, int]:
    if not emails:
        return {}
    found = User.objects.alias(lowered=Lower("email")).filter(lowered__in=emails)
    return dict(found.annotate(lowered_email=Lower("email")).values_list("lowered_email", "pk"))


def _manager_changes(person: User, record_: PersonRecord, managers: dict[str, int]) -> bool:
    if not record_.manager_email:
        return person.manager_id is not None
    # A manager not found yet joins in this very batch: a change for anyone already in the portal.
    return managers.get(record_.manager_email) != person.manager_id


def _with_consequences(window: list[PersonRecord], people: dict[str, User], managers: dict[str, int]) -> set[str]:
    """The rows applied one by one, through the services: leavers (their access ends), and movers whose new
    manager inherits approvals (`manager_change_consequences`)."""
    leaving = {
        record_.email
        for record_ in window
        if record_.status == "leaver" and (record_.email not in people or not people[record_.email].is_leaver)
    }
    movers = {
        people[record_.email].pk: record_.email
        for record_ in window
        if record_.email in people and _manager_changes(people[record_.email], record_, managers)
    }
    if movers:
        for _receiver, person_ids in manager_change_consequences.send(sender=User, person_ids=sorted(movers)):
            leaving |= {movers[pk] for pk in cast(list[int], person_ids) if pk in movers}
    return leaving


def _apply_one(record_: PersonRecord, person: User | None, batch: Batch) -> None:
    manager = User.objects.filter(email__iexact=record_.manager_email).first() if record_.manager_email else None
    if record_.status != "leaver":
        person, outcome = upsert_person(data=record_, manager=manager, actor=None, actor_label=ACTOR_LABEL)
        (batch.moved if outcome == "moved" else batch.joined).append(record_.email)
        return
    if person is None:  # listed as a leaver on their first appearance: they join, then leave
        person, _ = upsert_person(data=record_, manager=manager, actor=None, actor_label=ACTOR_LABEL)
        _leave(record_, person)
    else:
        # Marked first: their requests and grants are locked before the audit head (the lock order), which
        # a change to their name or title, recorded after, would otherwise take first.
        _leave(record_, person)
        upsert_person(data=record_, manager=manager, actor=None, actor_label=ACTOR_LABEL)
    batch.left.append(record_.email)


def _leave(record_: PersonRecord, person: User) -> None:
    try:
        mark_leaver(person=person, actor=None, actor_label=ACTOR_LABEL)
    except Refusal as exc:  # checked with the file already; someone changed the admins since
        raise FeedError([f"{record_.email}: {exc.message}"]) from None


FIELDS = ["full_name", "title", "department", "manager"]


def _apply_quiet(
    rows: list[PersonRecord], people: dict[str, User], managers: dict[str, int], batch: Batch
) -> list[dict]:
    """Joiners and movers with nothing else to follow: one insert, one update, and their events (returned,
    for the batch to record last). A few queries whatever the number of rows."""
    joiners = {}
    for record_ in rows:
        if record_.email not in people:
            joiner = User(
                email=record_.email,
                full_name=record_.full_name,
                title=record_.title,
                department=record_.department,
                manager_id=managers.get(record_.manager_email),
            )
            # As `create_user` without a password (sign-in is by SSO or a reset): the same unusable mark and
            # random suffix, drawn at once (`set_unusable_password` draws a character at a time: half this loop).
            joiner.password = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)
            joiners[record_.email] = joiner
    User.objects.bulk_create(joiners.values())
    # Managers who joined in this batch (placed before their reports) now have ids.
    managers = {**managers, **{email: joiner.pk for email, joiner in joiners.items()}}
    changed, events = [], []
    renamed: list[User] = []
    for record_ in rows:
        manager_id = managers.get(record_.manager_email) if record_.manager_email else None
        after = {
            "full_name": record_.full_name,
            "title": record_.title,
            "department": record_.department,
            "manager": manager_id,
        }
        if (joined := joiners.get(record_.email)) is not None:
            if joined.manager_id != manager_id:
                joined.manager_id = manager_id
                changed.append(joined)
            events.append(_event("person.joined", joined, after=after))
            batch.joined.append(record_.email)
            continue
        person = people[record_.email]
        before = {key: getattr(person, "manager_id" if key == "manager" else key) for key in FIELDS}
        if before == after:
            batch.unchanged += 1
            continue
        if person.full_name != record_.full_name:
            renamed.append(person)
        person.full_name, person.title, person.department = record_.full_name, record_.title, record_.department
        person.manager_id = manager_id
        changed.append(person)
        events.append(_event("person.moved", person, before=before, after=after))
        batch.moved.append(record_.email)
    if changed:
        User.objects.bulk_update(changed, FIELDS)
    for person in renamed:  # as `upsert_person` tells of a rename: copies of the name follow after the commit
        name_changed.send(sender=User, person=person)
    return events


def _event(action: str, person: User, **change) -> dict:
    return {"actor": None, "actor_label": ACTOR_LABEL, "action": action, "obj": person, **change}
