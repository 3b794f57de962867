"""A sync task claims a bounded batch of one account's waiting grants, the grant it was sent for first."""

import pytest

from access.models import Grant
from access.services import sync_batches
from catalog.models import AwsAccount, Entitlement
from iam.apply import sync
from tests.conftest import tasks_queued


@pytest.fixture
def engineers(cast, django_user_model):
    return [
        django_user_model.objects.create_user(email=f"eng{n}@example.com", full_name=f"Eng {n}", manager=cast.bob)
        for n in range(6)
    ]


@pytest.mark.django_db  # not committed: no sync message reaches a worker to claim these grants first
def test_a_batch_claims_at_most_its_size_of_one_account_the_named_grant_first(cast, sandbox, grant_of, engineers):
    grants = [grant_of(sandbox.developers, person) for person in engineers]
    elsewhere = AwsAccount.objects.create(account_id="210987654321", name="Elsewhere")
    other = Entitlement.objects.create(account=elsewhere, aws_name="Readers", name="Readers", risk=Entitlement.Risk.LOW)
    other.owners.set([cast.carol])
    other_grant = grant_of(other, engineers[0])

    first = sync_batches.claim_grants_for_sync(grants[3].pk, batch=4)
    second = sync_batches.claim_grants_for_sync(grants[3].pk, batch=4)
    third = sync_batches.claim_grants_for_sync(grants[0].pk, batch=4)

    assert len(first) == 4
    assert grants[3].pk in {work.grant_id for work in first}
    assert {work.grant_id for work in first} | {work.grant_id for work in second} == {g.pk for g in grants}
    assert len(second) == 2, "the rest of the account, not the other account's grant"
    assert third == []
    assert Grant.objects.get(pk=other_grant.pk).sync_state == Grant.SyncState.PENDING
    assert len({work.claim for work in first}) == 1


@pytest.mark.django_db
def test_a_batch_sends_one_notification_task_naming_all_its_grants_by_person(
    cast, sandbox, aws, aws_direct, entitlement_of, grant_of, engineers
):
    aws_direct("iam").create_group(GroupName="Deployers")
    aws_direct("iam").create_user(UserName="eng0")
    deployers = entitlement_of(Entitlement.Kind.IAM_GROUP, "Deployers")
    alices = [grant_of(sandbox.developers), grant_of(deployers)]
    engineers_grant = grant_of(deployers, engineers[0])

    with tasks_queued() as sent:
        outcomes = sync.sync_batch(alices[0].pk, batch=10)

    assert [outcome.result for outcome in outcomes] == ["applied"] * 3
    notices = [(task, args) for task, args in sent if task.startswith("notifications.")]
    assert notices == [("notifications.grants_synced", [[*(grant.pk for grant in alices), engineers_grant.pk]])]
