"""Benchmark: a leaver with grants across many accounts, until nothing is left in AWS, against a bare loop.

The portal: Alice holds BENCH_LEAVER_GROUPS group memberships in each of BENCH_LEAVER_ACCOUNTS accounts
(two or more reached by AssumeRole), plus an access key, a console password and an MFA device in each;
Erin marks her a leaver and the session's worker runs every step, each read back. Timed from the mark to
the last step done (the figure the leaver's page shows). The baseline: a bare sequential boto3 loop making
the same removals and read-backs in the same run, on the same simulated AWS. Target (issue 17): under 60 s
for 50 grants across 10 accounts. Run by `make bench` (PostgreSQL and Redis: the worker is real).
"""

import os
import time

import pytest
import requests
from django.conf import settings

from access.models import Grant
from access.services.leavers import seconds_to_nothing_left
from accounts.services import mark_leaver
from catalog.models import AwsAccount, Entitlement
from tests.iam.test_leaver_steps import all_steps_finished, approve, client_in, give_credentials, wait_for

ACCOUNTS = int(os.environ.get("BENCH_LEAVER_ACCOUNTS", "10"))
GROUPS = int(os.environ.get("BENCH_LEAVER_GROUPS", "5"))


def accounts_with_alice(cast, sandbox, moto_server, prefix: str) -> list:
    """The accounts (the sandbox first), Alice's user with her credentials in each, and their groups, on a
    simulated AWS emptied first."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=30).raise_for_status()
    accounts = [sandbox.account]
    for number in range(1, ACCOUNTS):
        account_id = f"{prefix}{number:011d}"
        accounts.append(
            AwsAccount.objects.get_or_create(
                account_id=account_id,
                defaults={"name": f"Account {prefix}{number}", "role_arn": f"arn:aws:iam::{account_id}:role/portal"},
            )[0]
        )
    for account in accounts:
        iam = client_in(moto_server, "iam", "" if account == sandbox.account else account.account_id)
        iam.create_user(UserName="alice")
        give_credentials(iam)
        for group in range(GROUPS):
            iam.create_group(GroupName=f"Team{group}")
            iam.add_user_to_group(GroupName=f"Team{group}", UserName="alice")
    return accounts


def bare_removal(moto_server, accounts, sandbox) -> float:
    """What the leaver's steps do, as a plain loop: keys, password, MFA, memberships, each read back."""
    started = time.perf_counter()
    for account in accounts:
        iam = client_in(moto_server, "iam", "" if account == sandbox.account else account.account_id)
        for key in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]:
            iam.update_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"], Status="Inactive")
        assert all(key["Status"] == "Inactive" for key in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"])
        iam.delete_login_profile(UserName="alice")
        for device in iam.list_mfa_devices(UserName="alice")["MFADevices"]:
            iam.deactivate_mfa_device(UserName="alice", SerialNumber=device["SerialNumber"])
        assert not iam.list_mfa_devices(UserName="alice")["MFADevices"]
        for group in range(GROUPS):
            iam.remove_user_from_group(GroupName=f"Team{group}", UserName="alice")
            assert f"Team{group}" not in {g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]}
    return time.perf_counter() - started


@pytest.mark.timeout(1800)
@pytest.mark.django_db(transaction=True)
def test_a_leaver_has_nothing_left_in_aws_within_a_minute(cast, sandbox, moto_server, celery_worker):
    if not (settings.REDIS_URL and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")):
        pytest.skip("the leaver benchmark runs the real worker: set DATABASE_URL (PostgreSQL) and REDIS_URL")
    bare_accounts = accounts_with_alice(cast, sandbox, moto_server, "9")
    bare = bare_removal(moto_server, bare_accounts, sandbox)
    AwsAccount.objects.exclude(pk=sandbox.account.pk).delete()

    accounts = accounts_with_alice(cast, sandbox, moto_server, "8")
    for account in accounts:
        for group in range(GROUPS):
            entitlement = Entitlement.objects.create(
                account=account, aws_name=f"Team{group}", name=f"Team {group} {account.name}", risk="low"
            )
            entitlement.owners.set([cast.carol])
            approve(cast, entitlement)
    applied = Grant.objects.filter(user=cast.alice, sync_state=Grant.SyncState.APPLIED)
    wait_for(lambda: applied.count() == len(accounts) * GROUPS, seconds=600, what="every grant applied")

    started = time.perf_counter()
    mark_leaver(person=cast.alice, actor=cast.erin)
    wait_for(lambda: all_steps_finished(cast.alice), seconds=900, what="every leaver step finished")
    seen = time.perf_counter() - started
    recorded = seconds_to_nothing_left(cast.alice)

    grants = len(accounts) * GROUPS
    print(
        f"\n== leaver: {grants} grants across {len(accounts)} accounts, keys, password and MFA in each ==\n"
        f"bare boto3 loop (sequential)   {bare:6.1f} s  x1.00\n"
        f"portal, mark to nothing left   {recorded:6.1f} s  x{bare / recorded:.2f} of the bare loop  "
        f"({seen:.1f} s seen by the benchmark; target under 60 s)"
    )
    assert recorded is not None
