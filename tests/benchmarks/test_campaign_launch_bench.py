"""Benchmark: launching a review campaign of 1,000,000 items on PostgreSQL, against a plain INSERT ... SELECT.

The baseline copies the same rows (person, entitlement, grant) from the grant ledger into a scratch
table with one INSERT ... SELECT in the same run; the ratio shows what the launch adds (reviewer
choice, scope, snapshot hash, audit). Target: 3 or less. Run by `make bench` with DATABASE_URL set.
"""

import os
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from reviews import services
from reviews.models import Campaign

ITEMS = int(os.environ.get("BENCH_REVIEW_ITEMS", 1_000_000))
ENTITLEMENTS = 10


@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)
def test_launch_of_a_million_items_against_insert_select(cast, sandbox):
    if connection.vendor != "postgresql":
        pytest.fail("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    people = ITEMS // ENTITLEMENTS
    started = time.perf_counter()
    with connection.cursor() as cursor:
        entitlement_ids = []
        for n in range(ENTITLEMENTS):
            cursor.execute(
                "INSERT INTO catalog_entitlement (account_id, kind, aws_name, name, description, risk, requestable,"
                " max_duration_days, approval_policy_id) VALUES (%s, 'iam_group', %s, %s, '', 'low', true, NULL, NULL)"
                " RETURNING id",
                [sandbox.account.pk, f"Bench{n}", f"Bench {n}"],
            )
            entitlement_ids.append(cursor.fetchone()[0])
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
        cursor.execute("ANALYZE")
    setup = time.perf_counter() - started

    campaign = Campaign.objects.create(
        name="Bench", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    started = time.perf_counter()
    launched = services.launch(campaign_id=campaign.pk, actor=cast.erin)
    launch_seconds = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_copy (holder_id bigint, entitlement_id bigint, grant_id bigint)")
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_copy SELECT user_id, entitlement_id, id FROM access_grant WHERE desired = 'present'"
        )
        baseline = time.perf_counter() - started
        copied = cursor.rowcount
        cursor.execute("DROP TABLE bench_copy")

    assert launched.population_count == copied >= ITEMS
    print(f"\nCampaign launch on PostgreSQL: {launched.population_count:,} items (data set-up {setup:.1f} s)")
    print(f"  launch (INSERT ... SELECT with reviewers, snapshot hash, audit): {launch_seconds:.2f} s")
    print(f"  plain INSERT ... SELECT of the same rows:                     {baseline:.2f} s")
    print(f"  ratio: {launch_seconds / baseline:.2f} (target 3 or less)")
