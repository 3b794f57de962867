"""What a person did with a grant, from the account's CloudTrail log files: a summary per grant.

CloudTrail writes gzip JSON files (`{"Records": [...]}`) under
`<prefix>/AWSLogs/<account id>/CloudTrail/<region>/YYYY/MM/DD/` in the bucket set on the account. For a grant's
window (activation to its end, or now) the day folders of every region are listed, and each file is read
through the gateway, decompressed and summarised, one file at a time: memory holds one file, never all the
records of the window. A file that is not gzip JSON with a `Records` list is skipped and counted; a record
that is not an event is ignored. Nothing in a log file can raise past this module.

Whose calls. IAM users (groups, managed policies): `userIdentity.userName` is the person's IAM user name.
Roles: the portal lets a person assume a role only with their IAM user name as the session name
(iam.apply.operations.roles), so the session's ARN is `assumed-role/<role>/<user name>`. Permission sets: Identity
Center names the session after the person's Identity Center user name (their email), on a role named
`AWSReservedSSO_<permission set>_<suffix>`.
"""

import gzip
import json
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from access.models import Grant, GrantActivity
from accounts.models import User
from catalog.models import AwsAccount, Entitlement
from iam.aws import gateway
from iam.aws.errors import AwsError, PermanentAwsError
from iam.aws.gateway import account_access
from iam.aws.identity import iam_user_name
from sod import activity as sod_activity
from sod.models import SodActivityFinding

# A log file larger than this once decompressed is skipped (and counted), so one file bounds memory.
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_FLAGGED_IDS = 100
# CloudTrail delivers a file up to about 15 minutes after the calls it holds, in the folder of its own day.
DELIVERY_DELAY = timedelta(minutes=15)
# Some services log the API version in the event's name (Lambda: CreateFunction20150331, UpdateFunctionCode20150331v2);
# the IAM action, which SoD rules and people name, has none.
API_VERSION_SUFFIX = re.compile(r"\d{8}(v\d+)?$")
# Calls that change something: writes, deletes and grants of permission. Every IAM call is flagged too.
WRITE_PREFIXES = (
    "Create",
    "Delete",
    "Put",
    "Update",
    "Attach",
    "Detach",
    "Pass",
    "Add",
    "Remove",
    "Modify",
    "Set",
    "Terminate",
    "Revoke",
    "Authorize",
)


def plain_reason(exc: AwsError) -> str:
    """Why the trail's files could not be read, in words for the evidence (never a library's text)."""
    reasons = {
        "NoSuchBucket": "the account's CloudTrail bucket does not exist",
        "AccessDenied": "the portal may not read the account's CloudTrail bucket (it needs s3:ListBucket and "
        "s3:GetObject on it)",
        "AllAccessDisabled": "the account's CloudTrail bucket is closed to everyone",
    }
    return reasons.get(exc.code, f"AWS refused (its error code: {exc.code or 'none'})")


class UnreadableLogFile(Exception):
    """This file is not CloudTrail's gzip JSON: skipped and counted."""


@dataclass
class Summary:
    calls: int = 0
    errors: int = 0
    first: datetime | None = None
    last: datetime | None = None
    actions: Counter = field(default_factory=Counter)
    services: Counter = field(default_factory=Counter)
    flagged: int = 0
    flagged_ids: list[str] = field(default_factory=list)
    files_read: int = 0
    files_skipped: int = 0
    bytes_read: int = 0
    # Actions (lower-cased "iam:passrole") whose calls are kept one by one, for SoD rules that look at what
    # was done: action → [(time, CloudTrail eventID)], at most SodActivityFinding.MAX_EVENT_IDS each.
    watch: frozenset = frozenset()
    watched: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)

    def add(self, record: dict, when: datetime) -> None:
        self.calls += 1
        service = str(record.get("eventSource", "")).split(".")[0] or "unknown"
        name = API_VERSION_SUFFIX.sub("", str(record.get("eventName", ""))) or "unknown"
        action = f"{service}:{name}"
        self.actions[action] += 1
        if self.watch and (lowered := action.lower()) in self.watch:
            calls = self.watched.setdefault(lowered, [])
            if len(calls) < SodActivityFinding.MAX_EVENT_IDS and record.get("eventID"):
                calls.append((when, str(record["eventID"])[:100]))
        self.services[service] += 1
        if record.get("errorCode"):
            self.errors += 1
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when
        if record.get("eventSource") == "iam.amazonaws.com" or name.startswith(WRITE_PREFIXES):
            self.flagged += 1
            if len(self.flagged_ids) < MAX_FLAGGED_IDS and record.get("eventID"):
                self.flagged_ids.append(str(record["eventID"]))


# --- whose calls ---------------------------------------------------------------------------


def iam_user(user_name: str) -> Callable[[dict], bool]:
    def matches(identity: dict) -> bool:
        return identity.get("type") == "IAMUser" and identity.get("userName") == user_name

    return matches


def role_session(role_name: str, session_names: set[str]) -> Callable[[dict], bool]:
    """Sessions of `role_name` (or, with role_name "AWSReservedSSO_", any Identity Center role) so named."""
    wanted = {name.lower() for name in session_names}

    def matches(identity: dict) -> bool:
        if identity.get("type") != "AssumedRole":
            return False
        _, _, rest = str(identity.get("arn", "")).partition(":assumed-role/")
        role, _, session = rest.partition("/")
        role_ok = role.startswith(role_name) if role_name.endswith("_") else role == role_name
        return role_ok and session.lower() in wanted

    return matches


def principal_for(person: User, entitlement: Entitlement, user_name: str = "") -> tuple[str, Callable[[dict], bool]]:
    """Who to look for in the log for the person's use of the entitlement, in words and as a test on
    `userIdentity`. `user_name`: their IAM user name in the account, when the caller knows it already."""
    user_name = user_name or iam_user_name(person, entitlement.account)
    if entitlement.kind == Entitlement.Kind.IAM_ROLE:
        role = entitlement.aws_name.rsplit("/", 1)[-1]
        return f"assumed-role/{role}/{user_name}", role_session(role, {user_name})
    if entitlement.kind == Entitlement.Kind.SSO_PERMISSION_SET:
        names = {person.email, user_name}
        return f"assumed-role/AWSReservedSSO_*/{person.email}", role_session("AWSReservedSSO_", names)
    return user_name, iam_user(user_name)


def person_in_account(person: User, user_name: str) -> Callable[[dict], bool]:
    """Every call the person made in the account, whatever they held: as their IAM user, or in a session of
    any role named after them (the portal's roles: their user name; Identity Center: their email). SoD rules
    that look at what was done judge the person, not one grant."""
    sessions = {user_name.lower(), person.email.lower()}

    def matches(identity: dict) -> bool:
        kind = identity.get("type")
        if kind == "IAMUser":
            return identity.get("userName") == user_name
        if kind != "AssumedRole":
            return False
        _, _, rest = str(identity.get("arn", "")).partition(":assumed-role/")
        return rest.partition("/")[2].lower() in sessions

    return matches


def principal_of(grant: Grant) -> tuple[str, Callable[[dict], bool]]:
    return principal_for(grant.user, grant.entitlement)


# --- reading the files ---------------------------------------------------------------------


def _parse_time(value: object) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def records_of(chunks: Iterator[bytes]) -> list:
    """The `Records` of one gzip JSON log file, from its compressed chunks. Raises UnreadableLogFile."""
    inflate = zlib.decompressobj(wbits=31)  # gzip framing
    data = bytearray()
    try:
        for chunk in chunks:
            data += inflate.decompress(chunk, MAX_FILE_BYTES + 1 - len(data))
            if len(data) > MAX_FILE_BYTES or inflate.unconsumed_tail:
                raise UnreadableLogFile("larger than the portal reads")
        data += inflate.flush()
        if not inflate.eof:
            raise UnreadableLogFile("cut short")
        document = json.loads(data)
    except (zlib.error, gzip.BadGzipFile, ValueError, EOFError) as exc:
        raise UnreadableLogFile(str(exc)) from exc
    del data  # the file's bytes go before its records are walked
    if not isinstance(document, dict) or not isinstance(document.get("Records"), list):
        raise UnreadableLogFile("no Records list")
    return document["Records"]


def summarise_file(summaries: dict, chunks: Iterator[bytes], matchers: dict, start: datetime, end: datetime) -> bool:
    """Add one file's calls inside [start, end] to the summary of each principal whose matcher accepts them.

    Returns False for a file that could not be read (the caller counts it); nothing in a file raises.
    """
    # CloudTrail dates a call to the whole second: a call in the second the window opened is dated before
    # its opening instant, and is the window's all the same.
    start = start.replace(microsecond=0)
    try:
        records = records_of(chunks)
    except UnreadableLogFile:
        return False
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("userIdentity"), dict):
            continue
        identity = record["userIdentity"]
        whose = [key for key, matches in matchers.items() if matches(identity)]
        if not whose:
            continue
        when = _parse_time(record.get("eventTime"))
        if when is None or when < start or when > end:
            continue
        for key in whose:
            summaries[key].add(record, when)
    return True


def _days(start: datetime, end: datetime) -> Iterator[str]:
    day = start.astimezone(UTC).date()
    last = end.astimezone(UTC).date()
    while day <= last:
        yield day.strftime("%Y/%m/%d")
        day += timedelta(days=1)


def log_folder(account: AwsAccount) -> str:
    prefix = account.cloudtrail_prefix.strip("/")
    return f"{prefix + '/' if prefix else ''}AWSLogs/{account.account_id}/CloudTrail/"


def summarise(account: AwsAccount, matches: Callable[[dict], bool], start: datetime, end: datetime) -> Summary:
    """Every call `matches` accepts in the account's log files between start and end."""
    return summarise_many(account, {"only": matches}, start, end)["only"]


def summarise_many(
    account: AwsAccount, matchers: dict, start: datetime, end: datetime, watch: dict | None = None
) -> dict:
    """One pass over the account's log files between start and end, a Summary per matcher's key (one read of
    the files for a whole review campaign's holders). `watch`: key → lower-cased actions whose calls that
    summary keeps one by one. TransientAwsError and PermanentAwsError (the bucket missing or not readable)
    are raised for the caller."""
    access = account_access(account)
    bucket, folder = account.cloudtrail_bucket, log_folder(account)
    watch = watch or {}
    summaries = {key: Summary(watch=frozenset(watch.get(key, ()))) for key in matchers}
    regions = [
        item["Prefix"]
        for page in gateway.pages(access, "s3", "list_objects_v2", Bucket=bucket, Prefix=folder, Delimiter="/")
        for item in page.get("CommonPrefixes", [])
    ]
    read = skipped = size = 0
    for region in regions:
        for day in _days(start, end + DELIVERY_DELAY):
            for page in gateway.pages(access, "s3", "list_objects_v2", Bucket=bucket, Prefix=f"{region}{day}/"):
                for item in page.get("Contents", []):
                    size += item.get("Size", 0)
                    chunks = gateway.object_chunks(access, bucket, item["Key"])
                    if summarise_file(summaries, chunks, matchers, start, end):
                        read += 1
                    else:
                        skipped += 1
    for summary in summaries.values():
        summary.files_read, summary.files_skipped, summary.bytes_read = read, skipped, size
    return summaries


# --- per grant -----------------------------------------------------------------------------


def window_of(grant: Grant, now: datetime) -> tuple[datetime, datetime]:
    start = grant.activated_at or grant.granted_at or grant.created_at
    end = grant.ended_at or now
    return start, max(start, min(end, now))


def summarise_grant(grant_id: int, now: datetime | None = None) -> GrantActivity:
    """Read the grant's window from CloudTrail and store its summary (replacing the last one). Where SoD rules
    look at what was done, the holder's calls in the window (with any of their access) are judged against them
    in the same pass, and what they did together is recorded as a finding with its CloudTrail event ids.

    A read that started before the stored one (two reads at once: the end of the grant and the daily read)
    leaves the newer one in place."""
    now = now or timezone.now()
    grant = Grant.objects.select_related("user", "entitlement__account").get(pk=grant_id)
    account = grant.entitlement.account
    start, end = window_of(grant, now)
    user_name = iam_user_name(grant.user, account)
    principal, matches = principal_for(grant.user, grant.entitlement, user_name)
    values = {"window_start": start, "window_end": end, "computed_at": now, "principal": principal[:300]}
    rules = sod_activity.activity_rules() if account.cloudtrail_bucket else []
    watched: dict[str, list[tuple[datetime, str]]] = {}
    if not account.cloudtrail_bucket:
        values.update(configured=False, unreadable="", **_empty())
    else:
        matchers = {"grant": matches}
        watch = {action.lower() for rule in rules for action in rule.actions}
        if watch:
            matchers["person"] = person_in_account(grant.user, user_name)
        try:
            found = summarise_many(account, matchers, start, end, watch={"person": watch})
        except PermanentAwsError as exc:  # reading again will not help until someone fixes the bucket
            values.update(configured=True, unreadable=plain_reason(exc)[:300], **_empty())
        else:
            values.update(_found(found["grant"]))
            watched = found["person"].watched if watch else {}
    with transaction.atomic():
        # The grant first (rows hanging off it after): two reads of one grant take turns.
        Grant.objects.select_for_update(no_key=True, of=("self",)).filter(pk=grant.pk).first()
        stored = GrantActivity.objects.filter(grant=grant).first()
        if stored is not None and stored.computed_at > now:
            return stored
        activity, _ = GrantActivity.objects.update_or_create(grant=grant, defaults=values)
        if watched:
            sod_activity.record_activity_findings(
                rules, user=grant.user, grant_id=grant.pk, account=account, window=(start, end), calls=watched, now=now
            )
    return activity


def _found(found: Summary) -> dict:
    return dict(
        unreadable="",
        configured=True,
        calls=found.calls,
        errors=found.errors,
        first_call_at=found.first,
        last_call_at=found.last,
        top_actions=[list(pair) for pair in found.actions.most_common(GrantActivity.TOP_ACTIONS)],
        by_service=dict(found.services.most_common()),
        flagged=found.flagged,
        flagged_event_ids=found.flagged_ids,
        files_read=found.files_read,
        files_skipped=found.files_skipped,
    )


def _empty() -> dict:
    return {
        "calls": 0,
        "errors": 0,
        "first_call_at": None,
        "last_call_at": None,
        "top_actions": [],
        "by_service": {},
        "flagged": 0,
        "flagged_event_ids": [],
        "files_read": 0,
        "files_skipped": 0,
    }
