"""Benchmark: launching a review campaign of 1,000,000 items on PostgreSQL, against a plain INSERT ... SELECT.

The baseline is a plain INSERT ... SELECT of the same rows into the same review-item table, in the
same run and before the launch (so the launch meets the fuller table): one row per present grant,
with constants where the launch computes reviewer, reasons and recommendation. The ratio is what the
launch adds: scope, reviewer choice in SQL, recommendations, the snapshot hash, the audit event.
Target: 3 or less. Run by `make bench` with DATABASE_URL set.

For reference it also prints a copy of three columns into an unindexed TEMP table (no WAL, no
index, no constraint): the floor of the machine, not something a durable, indexed table can match.
"""

import os
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import Entitlement
from reviews import services
from reviews.models import Campaign
from tests.benchmarks.scale_fill import analyze_own_tables

ITEMS = int(os.environ.get("BENCH_REVIEW_ITEMS", 1_000_000))
ENTITLEMENTS = 10


@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)
def test_launch_of_a_million_items_against_insert_select(cast, sandbox):
    if connection.vendor != "postgresql":
        pytest.fail("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    people = ITEMS // ENTITLEMENTS
    started = time.perf_counter()
    # The ten entitlements through the ORM, so columns added since get their defaults; the rows in SQL.
    entitlement_ids = [
        Entitlement.objects.create(account=sandbox.account, aws_name=f"Bench{n}", name=f"Bench {n}", risk="low").pk
        for n in range(ENTITLEMENTS)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, is_staff, is_active, date_joined, email, full_name,"
            " title, department, manager_id, employment_status, iam_user_name)"
            " SELECT '!', false, false, true, now(), 'bench' || g || '@example.com', 'Bench ' || g, '', 'Bench',"
            " %s, 'active', '' FROM generate_series(1, %s) g",
            [cast.bob.pk, people],
        )
        cursor.execute(
            "INSERT INTO access_grant (user_id, entitlement_id, source, desired, sync_state, sync_attempts, last_error,"
            " created_at, granted_at, end_reason)"
            " SELECT u.id, e.id, 'import', 'present', 'applied', 0, '', now(), now(), ''"
            " FROM accounts_user u CROSS JOIN unnest(%s::bigint[]) AS e(id) WHERE u.department = 'Bench'",
            [entitlement_ids],
        )
        analyze_own_tables(cursor)
    setup = time.perf_counter() - started

    campaign = Campaign.objects.create(
        name="Bench", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    scratch = Campaign.objects.create(
        name="Baseline", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO reviews_reviewitem (recommendation, recommendation_reason, campaign_id, holder_id,"
            " entitlement_id, grant_id, origin, held_since, reviewer_id, reviewer_reason, decision, comment,"
            " automatic, remediation)"
            " SELECT 'undecided', '', %s, user_id, entitlement_id, id, source, granted_at, %s, 'Manager',"
            " 'undecided', '', false, 'none' FROM access_grant WHERE desired = 'present'",
            [scratch.pk, cast.erin.pk],
        )
        baseline = time.perf_counter() - started
        copied = cursor.rowcount
        cursor.execute("CREATE TEMP TABLE bench_copy (holder_id bigint, entitlement_id bigint, grant_id bigint)")
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_copy SELECT user_id, entitlement_id, id FROM access_grant WHERE desired = 'present'"
        )
        floor = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")

    started = time.perf_counter()
    launched = services.launch(campaign_id=campaign.pk, actor=cast.erin)
    launch_seconds = time.perf_counter() - started

    assert launched.population_count == copied >= ITEMS
    print(f"\nCampaign launch on PostgreSQL: {launched.population_count:,} items (data set-up {setup:.1f} s)")
    print(f"  launch (INSERT ... SELECT with reviewers, recommendations, snapshot hash, audit): {launch_seconds:.2f} s")
    print(f"  plain INSERT ... SELECT of the same rows into the review-item table:             {baseline:.2f} s")
    print(f"  ratio: {launch_seconds / baseline:.2f} (target 3 or less)")
    print(f"  for reference, three columns into an unindexed TEMP table: {floor:.2f} s")
