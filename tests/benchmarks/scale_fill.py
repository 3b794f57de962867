"""Filling PostgreSQL at a company's size, set-based: one INSERT ... SELECT over generate_series per table.

Sizes at SCALE=1 (issue 21): 20,000 people, 50 AWS accounts, 2,000 entitlements, 200,000 grants, 20,000
requests (each with its stage and its vote), one campaign of 100,000 review lines over the managers, and
1,000,000 audit events (a quarter of them naming a request, filed in the subject table as `record` does).
Rows get explicit ids after the table's largest, so later tables refer to earlier ones by arithmetic.
Columns a statement does not name take the model's constant default ('' for required text, NULL where
allowed), read from the model: a new column does not break the fill. The audit rows' hashes are unique
but not a valid chain (the verify_audit benchmark measures that); the chain head is moved past them.
"""

import contextlib
import json
import time
from datetime import timedelta

from django.db import connection, models
from django.utils import timezone

from access.models import AccessRequest, Approval, ApprovalAssignment, Grant, GrantActivity
from accounts.models import User
from audit.models import AuditChainHead, AuditEvent, AuditSubject
from catalog.models import AwsAccount, Entitlement
from reviews.models import Campaign, EvidencePack, ReviewItem
from reviews.progress_counters import recount

FULL = {
    "people": 20_000,
    "accounts": 50,
    "entitlements": 2_000,
    "grants": 200_000,
    "requests": 20_000,
    "review_lines": 100_000,
    "audit_events": 1_000_000,
}


def sizes(scale: float) -> dict[str, int]:
    counts = {name: max(10, round(full * scale)) for name, full in FULL.items()}
    counts["accounts"] = max(2, round(FULL["accounts"] * scale))
    counts["grants"] = min(counts["grants"], counts["people"] * counts["entitlements"])
    counts["review_lines"] = min(counts["review_lines"], counts["grants"])
    return counts


def _default_sql(field) -> tuple[str, list]:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return "now()", []
    if field.has_default():
        default = field.default
        if callable(default):
            value = default()
            if hasattr(value, "isoformat"):
                return "now()", []
            default = value
        if isinstance(field, models.JSONField):
            return "%s::jsonb", [json.dumps(default)]
        return "%s", [default]
    if field.null:
        return "NULL", []
    if isinstance(field, models.CharField | models.TextField):
        return "''", []
    raise ValueError(f"{field.model.__name__}.{field.name} needs a value in the fill")


# From this many rows, a table's indexes are dropped before the insert and built afterwards. Ten million
# audit events (the run at ten times the size) inserted into a table keeping its five indexes took 34 minutes:
# the hash and the per-object and per-actor indexes take each row at a random place, and at that size they
# no longer fit in PostgreSQL's buffers, so every row waited on the disk. Built once after, they take a sort.
REBUILD_FROM = 5_000_000


@contextlib.contextmanager
def indexes_rebuilt(cursor, table: str):
    """Drop `table`'s indexes and unique constraints but its primary key, and create them again on leaving."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
        [table],
    )
    constraints = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    # Django's foreign keys are checked at commit (deferred); PostgreSQL builds no index on a table with
    # checks still pending, so they are run now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    for _, definition in indexes:
        cursor.execute(definition)
    for name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def analyze_own_tables(cursor) -> None:
    """ANALYZE the project's tables only. A bare ANALYZE also analyzes the shared catalogs (pg_database,
    pg_authid...), whose locks any other database's open transaction that analyzed them holds until it ends:
    two benchmarks or a test run beside one then wait on each other for minutes."""
    cursor.execute("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()")
    cursor.execute("ANALYZE " + ", ".join(name for (name,) in cursor.fetchall()))


def fill(cursor, model, count: int, values: dict[str, str], source: str = "generate_series(1, %(n)s) AS g") -> int:
    """Insert `count` rows of `model`, ids base+1..base+count (g = 1..count); returns base."""
    table = model._meta.db_table
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (names from the model)
    base = cursor.fetchone()[0]
    columns, expressions, params = ["id"], [f"{base} + g"], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in values:
            expressions.append(values[field.column].replace("%", "%%"))  # SQL's modulo, not a placeholder
        else:
            sql, extra = _default_sql(field)
            expressions.append(sql)
            params += extra
    source = source.replace("%(n)s", str(count)).replace("%", "%%")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {source}"  # noqa: S608
    if count >= REBUILD_FROM:
        with indexes_rebuilt(cursor, table):
            cursor.execute(sql, params)
    else:
        cursor.execute(sql, params)
    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
    return base


def fill_company(cast, scale: float) -> dict:
    """Fill at `scale` of FULL; the cast take part: Alice has 8 requests, Bob approves for a team."""
    n = sizes(scale)
    timings: dict[str, float] = {}
    with connection.cursor() as cursor:

        def timed(name, function):
            started = time.perf_counter()
            result = function()
            timings[name] = time.perf_counter() - started
            return result

        people, managers = n["people"], max(1, n["people"] // 20)
        # The managers are the first people: their ids follow from the table's base, read first.
        cursor.execute("SELECT coalesce(max(id), 0) FROM accounts_user")
        p = cursor.fetchone()[0]
        timed(
            "people",
            lambda: fill(
                cursor,
                User,
                people,
                {
                    "password": "'!'",
                    "email": "'p' || g || '@scale.example'",
                    "full_name": "'Person ' || lpad(g::text, 6, '0')",
                    "department": "'Department ' || (g % 40)",
                    "iam_user_name": "'p' || g",
                    "manager_id": f"CASE WHEN g > {managers} THEN {p} + 1 + (g % {managers}) END",
                },
            ),
        )
        # Bob manages the second manager's team too (people number k with k % managers = 1): request g is for
        # person g % people + 1 and pending when g % 10 = 0, so his inbox holds one in every 1,000 requests.
        cursor.execute("UPDATE accounts_user SET manager_id = %s WHERE manager_id = %s", [cast.bob.pk, p + 2])

        a = timed(
            "accounts",
            lambda: fill(
                cursor,
                AwsAccount,
                n["accounts"],
                {"account_id": "lpad((200000000000 + g)::text, 12, '0')", "name": "'Account ' || g"},
            ),
        )
        e = timed(
            "entitlements",
            lambda: fill(
                cursor,
                Entitlement,
                n["entitlements"],
                {
                    "account_id": f"{a} + 1 + (g % {n['accounts']})",
                    "aws_name": "'Group' || g",
                    "name": "'Entitlement ' || lpad(g::text, 5, '0')",
                    "requestable": "true",
                },
            ),
        )
        grants = n["grants"]
        g0 = timed(
            "grants",
            lambda: fill(
                cursor,
                Grant,
                grants,
                {
                    "user_id": f"{p} + 1 + (g % {people})",
                    "entitlement_id": f"{e} + 1 + ((g / {people}) % {n['entitlements']})",
                    "source": "'admin'",
                    "sync_state": "CASE WHEN g % 500 = 0 THEN 'failed' WHEN g % 700 = 0 THEN 'pending' "
                    "ELSE 'applied' END",
                    "created_at": "now() - g * interval '1 minute'",
                    "granted_at": "now() - g * interval '1 minute'",
                },
            ),
        )
        requests = n["requests"]
        r = timed(
            "requests",
            lambda: fill(
                cursor,
                AccessRequest,
                requests,
                {
                    "requester_id": f"{p} + 1 + (g % {people})",
                    "beneficiary_id": f"{p} + 1 + (g % {people})",
                    "entitlement_id": f"{e} + 1 + ((g / {people} + 7) % {n['entitlements']})",
                    "justification": "'Needed for the quarter''s work'",
                    "state": "CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'approved' END",
                    "created_at": "now() - g * interval '3 minutes'",
                },
            ),
        )
        # Alice's own eight requests (g = 1..8: none pending).
        cursor.execute(
            "UPDATE access_accessrequest SET requester_id = %s, beneficiary_id = %s WHERE id BETWEEN %s AND %s",
            [cast.alice.pk, cast.alice.pk, r + 1, r + 8],
        )
        timed(
            "stages",
            lambda: fill(
                cursor,
                Approval,
                requests,
                {
                    "request_id": f"{r} + g",
                    "step": "1",
                    "label": "'Manager'",
                    "state": "CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'approved' END",
                    "activated_at": "now() - g * interval '3 minutes'",
                },
            ),
        )
        cursor.execute("SELECT coalesce(max(id), 0) - %s FROM access_approval", [requests])
        s = cursor.fetchone()[0]
        timed(
            "votes",
            lambda: fill(
                cursor,
                ApprovalAssignment,
                requests,
                {
                    "approval_id": f"{s} + g",
                    "approver_id": f"coalesce(u.manager_id, {cast.erin.pk})",
                    "reason": "'manager'",
                    "decision": "CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'approved' END",
                },
                source=f"generate_series(1, %(n)s) AS g JOIN access_accessrequest q ON q.id = {r} + g "
                "JOIN accounts_user u ON u.id = q.beneficiary_id",
            ),
        )
        lines = n["review_lines"]
        c = fill(
            cursor,
            Campaign,
            1,
            {
                "name": "'Quarterly review'",
                "owner_id": str(cast.erin.pk),
                "state": "'active'",
                "due_at": "now() + interval '14 days'",
                "undecided": str(lines),
                "population_count": str(lines),
                "snapshot_at": "now()",
            },
        )
        timed(
            "review lines",
            lambda: fill(
                cursor,
                ReviewItem,
                lines,
                {
                    "campaign_id": str(c + 1),
                    "holder_id": "x.user_id",
                    "holder_name": "u.full_name",
                    "entitlement_id": "x.entitlement_id",
                    "grant_id": "x.id",
                    "origin": "'admin'",
                    "reviewer_id": f"coalesce(u.manager_id, {cast.erin.pk})",
                    "reviewer_reason": "'manager'",
                    "recommendation_reason": "''",
                    "comment": "''",
                },
                source=f"generate_series(1, %(n)s) AS g JOIN access_grant x ON x.id = {g0} + g "
                "JOIN accounts_user u ON u.id = x.user_id",
            ),
        )
        # The campaign's progress counters, as its launch leaves them (reviews.progress_counters).
        timed("review counters", lambda: recount(c + 1))
        events = n["audit_events"]
        head = AuditChainHead.objects.get_or_create(id=1)[0]
        seq0 = head.last_seq
        timed(
            "audit events",
            lambda: fill(
                cursor,
                AuditEvent,
                events,
                {
                    "seq": f"{seq0} + g",
                    # A year of the trail at every size, as the company gathers it: spread one a second,
                    # the trail covered 3 hours at 1/100 and 12 days at full size, so the timelines said
                    # "minutes ago" at one size and "days ago" (humanize's costlier path) at the other.
                    "created_at": f"now() - interval '365 days' * (({events} - g)::float8 / {events})",
                    "actor_id": f"{p} + 1 + (g % {people})",
                    "actor_label": "'p' || (g % 97) || '@scale.example'",
                    "action": "(ARRAY['request.submitted', 'approval.approved', 'grant.applied', "
                    "'person.updated'])[g % 4 + 1]",
                    "object_type": "(ARRAY['access.accessrequest', 'access.approvalassignment', 'access.grant', "
                    "'accounts.user'])[g % 4 + 1]",
                    "object_id": f"(CASE g % 4 WHEN 0 THEN {r} + 1 + g % {requests} WHEN 1 THEN g "
                    f"WHEN 2 THEN {g0} + 1 + g % {grants} ELSE {p} + 1 + g % {people} END)::text",
                    "after": f"CASE WHEN g % 4 = 1 THEN jsonb_build_object('request', {r} + 1 + g % {requests}, "
                    "'stage', 1, 'comment', '') ELSE '{}'::jsonb END",
                    "prev_hash": "md5('scale' || (g - 1)) || md5('chain' || (g - 1))",
                    "hash": "md5('scale' || g) || md5('chain' || g)",
                },
            ),
        )
        timed(
            "audit subjects",
            lambda: cursor.execute(
                "INSERT INTO audit_auditsubject (event_id, subject_type, subject_id) "
                "SELECT id, 'access.accessrequest', (after ->> 'request')::bigint FROM audit_auditevent "
                "WHERE seq > %s AND jsonb_typeof(after -> 'request') = 'number'",
                [seq0],
            ),
        )
        cursor.execute(
            "UPDATE audit_auditchainhead SET last_seq = %s, last_hash = md5('scale' || %s) || md5('chain' || %s)",
            [seq0 + events, events, events],
        )
        # A leaver part-way through their removal (the leaver page and its chart): a manager with grants,
        # their grants wanted absent, a third still waiting for the sync.
        leaver = p + 3
        cursor.execute(
            "UPDATE accounts_user SET employment_status = 'leaver', left_at = now(), is_active = false WHERE id = %s",
            [leaver],
        )
        cursor.execute(
            "UPDATE access_grant SET desired = 'absent', sync_state = CASE WHEN id %% 3 = 0 THEN 'pending' "
            "ELSE 'revoked' END WHERE user_id = %s",
            [leaver],
        )
        # A grant with its CloudTrail activity read (the grant history page's activity block).
        grant = g0 + 2
        GrantActivity.objects.create(
            grant_id=grant,
            window_start=timezone.now() - timedelta(days=90),
            window_end=timezone.now(),
            computed_at=timezone.now(),
            principal="p2",
            calls=1234,
            top_actions=[["s3:GetObject", 1000], ["s3:ListBucket", 234]],
            by_service={"s3": 1234},
        )
        # An evidence pack being built for the campaign (its page polls this row).
        pack = EvidencePack.objects.create(
            campaign_id=c + 1,
            format=EvidencePack.Format.CSV,
            requested_by=cast.erin,
            status=EvidencePack.Status.RUNNING,
            lines_done=lines // 2,
            lines_total=lines,
        )
        timed("analyze", lambda: analyze_own_tables(cursor))
        # The fill leaves a gigabyte of dirty pages that PostgreSQL writes out over the next minutes, on the
        # same two cores as the measurement: written now, the pages are measured on a machine at rest.
        timed("checkpoint", lambda: cursor.execute("CHECKPOINT"))
    assert AuditSubject  # filled by the statement above, as audit.services.record files new events
    ids = {"leaver": leaver, "grant": grant, "pack": pack.pk}
    return {"sizes": n, "timings": timings, "total": sum(timings.values()), "ids": ids}
