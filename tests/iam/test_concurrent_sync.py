"""Many workers at once never fail a grant by racing each other.

Four real `celery worker` processes, four prefork children each, apply the group and policy
grants of 300 people who have no IAM user yet, in an account where the portal creates them.
Each person's two grants are queued apart and claimed in small batches, so different
children hold grants of the same new person at the same moment: they must create the user
once, wait for each other, and never record AWS's EntityAlreadyExists or NoSuchEntity as a
failure. Done twice, with new people each time; every grant ends applied and read back.
"""

import collections
import itertools
import time

import pytest
from django.core.management import call_command
from django.db import transaction

from access import services
from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from iam.models import IamPrincipal
from tests.iam.workers import WorkerProcess, no_other_worker_on

GOOD_REASON = "Deploying the billing service for the Q4 release"
PEOPLE = 300
ROUNDS = 2
WORKERS, CONCURRENCY = 4, 4
# Small batches, so one person's two grants are mostly claimed by different children at once.
BATCH = {"PORTAL_GRANT_SYNC_BATCH_SIZE": "2"}


@pytest.fixture
def billing_policy(aws_direct, aws, entitlement_of):
    document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ce:Get*","Resource":"*"}]}'
    arn = aws_direct("iam").create_policy(PolicyName="BillingRead", PolicyDocument=document)["Policy"]["Arn"]
    return entitlement_of(Entitlement.Kind.IAM_POLICY, arn, "Billing read")


def queue_grants(admin, people, entitlements) -> list[int]:
    """Granted by a governance admin: person i's group grant is queued next to person i-1's policy grant."""
    with transaction.atomic():  # every sync is queued when this commits
        pairs = [(people[0], entitlements[0])]
        for before, person in itertools.pairwise(people):
            pairs += [(person, entitlements[0]), (before, entitlements[1])]
        pairs.append((people[-1], entitlements[1]))
        for person, entitlement in pairs:
            services.grant_by_admin(actor=admin, user=person, entitlement=entitlement, justification=GOOD_REASON)
    return list(Grant.objects.filter(user__in=people).values_list("pk", flat=True))


def wait_until_settled(grant_ids, workers: list[WorkerProcess], seconds: float) -> collections.Counter:
    deadline = time.monotonic() + seconds
    waiting = (Grant.SyncState.PENDING, Grant.SyncState.IN_PROGRESS)
    while Grant.objects.filter(pk__in=grant_ids, sync_state__in=waiting).exists():
        if time.monotonic() > deadline:
            logs = "\n".join(worker.tail() for worker in workers)
            raise AssertionError(f"grants still syncing after {seconds}s; worker logs:\n{logs}")
        time.sleep(0.2)
    return collections.Counter(Grant.objects.filter(pk__in=grant_ids).values_list("sync_state", flat=True))


@pytest.mark.timeout(600)
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_create_each_new_person_once_and_fail_no_grant(
    cast, sandbox, aws, aws_direct, billing_policy, start_worker, settings, django_user_model
):
    sandbox.account.create_iam_users = True
    sandbox.account.save(update_fields=["create_iam_users"])
    entitlements = [sandbox.developers, billing_policy]
    iam = aws_direct("iam")
    with no_other_worker_on(settings.CELERY_TASK_DEFAULT_QUEUE):
        workers = [start_worker(f"racer{n}", env=BATCH, concurrency=CONCURRENCY) for n in range(WORKERS)]
        for round_number in range(1, ROUNDS + 1):
            names = [f"new{round_number}x{number:03d}" for number in range(PEOPLE)]
            people = [
                django_user_model.objects.create_user(email=f"{name}@example.com", full_name=name, manager=cast.bob)
                for name in names
            ]
            queued_at = time.monotonic()
            grant_ids = queue_grants(cast.erin, people, entitlements)
            print(f"round {round_number}: queued in {time.monotonic() - queued_at:.1f}s", end=", ", flush=True)
            queued_at = time.monotonic()
            assert len(grant_ids) == 2 * PEOPLE

            states = wait_until_settled(grant_ids, workers, 240)
            print(f"synced in {time.monotonic() - queued_at:.1f}s", flush=True)

            failures = list(Grant.objects.filter(pk__in=grant_ids, sync_state=Grant.SyncState.FAILED)[:5])
            assert states == {Grant.SyncState.APPLIED: 2 * PEOPLE}, [g.last_error for g in failures]
            members = {user["UserName"] for user in iam.get_group(GroupName="Developers")["Users"]}
            assert set(names) <= members
            holders = iam.list_entities_for_policy(PolicyArn=billing_policy.aws_name, EntityFilter="User")
            assert set(names) <= {user["UserName"] for user in holders["PolicyUsers"]}
            created = IamPrincipal.objects.filter(account=sandbox.account, user_name__in=names, created_by_portal=True)
            assert created.count() == PEOPLE, "each new person's IAM user was created by the portal, once"

    applied = collections.Counter(
        AuditEvent.objects.filter(action="grant.applied", object_type="access.grant").values_list(
            "object_id", flat=True
        )
    )
    assert set(applied.values()) == {1}, "no grant was recorded applied twice"
    assert len(applied) == ROUNDS * 2 * PEOPLE
    call_command("verify_audit")
