"""Reading the HR feed (CSV: joiners, movers and leavers) and applying it, all rows or none."""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower

from accounts.models import User
from accounts.services import PeopleError, PersonRecord, mark_leaver, upsert_person
from audit.transactions import atomic_with_retries

COLUMNS = ["email", "full_name", "title", "department", "manager_email", "status"]
STATUSES = {"active", "leaver"}
ACTOR_LABEL = "system:hr-feed"


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
    records, problems, seen = [], [], {}
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


@atomic_with_retries(lambda message: FeedError([message]))
def apply(records: list[PersonRecord]) -> FeedResult:
    """Joiners and movers (managers before their reports), then leavers: one transaction, all or none."""
    result = FeedResult()
    with transaction.atomic():
        # Everyone the feed changes, in id order, before its first audit event (docs/architecture.md, locks).
        emails = [record_.email.lower() for record_ in records]
        list(
            User.objects.select_for_update(no_key=True)
            .alias(lowered=Lower("email"))
            .filter(lowered__in=emails)
            .order_by("pk")
        )
        for record_ in _managers_first(records):
            manager = (
                User.objects.filter(email__iexact=record_.manager_email).first() if record_.manager_email else None
            )
            person, outcome = upsert_person(data=record_, manager=manager, actor=None, actor_label=ACTOR_LABEL)
            if record_.status == "leaver" and not person.is_leaver:
                try:
                    mark_leaver(person=person, actor=None, actor_label=ACTOR_LABEL)
                except PeopleError as exc:  # the last governance admin: the whole file is refused
                    raise FeedError([f"{record_.email}: {exc.message}"]) from None
                result.left.append(record_.email)
            elif outcome == "joined":
                result.joined.append(record_.email)
            elif outcome == "moved":
                result.moved.append(record_.email)
            else:
                result.unchanged += 1
    return result
