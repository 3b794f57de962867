"""Helpers for the sync and import tests: entitlements of every kind, granted the real way.

Grants are made as people make them (Alice asks, Bob her manager approves) and taken back
with `give_back`; AWS is checked with a plain boto3 client, never through the code under test.
"""

import boto3
import pytest

from access import services
from access.models import Grant
from catalog.models import Entitlement
from iam.apply.operations import Target
from iam.aws import gateway
from tests.iam.workers import redis_broker, start_worker  # noqa: F401 (fixtures for worker-process tests)

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def aws_direct(moto_server):
    """A boto3 client straight to the simulated AWS, for setting it up and checking it."""

    def client(service: str):
        return boto3.client(service, endpoint_url=moto_server, region_name="us-east-1")

    return client


@pytest.fixture
def fresh_clients():
    """Gateway clients built for this test only (a test may hook or stub one)."""
    gateway._clients.clear()
    yield
    gateway._clients.clear()


@pytest.fixture
def entitlement_of(sandbox, cast):
    """A requestable, low-risk entitlement of any kind in the sandbox, owned by Carol."""

    def make(kind: str, aws_name: str, name: str = "") -> Entitlement:
        entitlement = Entitlement.objects.create(
            account=sandbox.account, kind=kind, aws_name=aws_name, name=name or aws_name, risk=Entitlement.Risk.LOW
        )
        entitlement.owners.set([cast.carol])
        return entitlement

    return make


@pytest.fixture
def grant_of(cast):
    """Alice asks for the entitlement and Bob, her manager, approves: the grant waits for sync."""

    def make(entitlement: Entitlement, person=None) -> Grant:
        person = person or cast.alice
        access_request = services.submit_request(requester=person, entitlement=entitlement, justification=GOOD_REASON)
        services.approve(request_id=access_request.pk, actor=person.manager)
        return Grant.objects.get(user=person, entitlement=entitlement)

    return make


def give_back(grant: Grant) -> Grant:
    """The holder gives the access back; the grant waits for sync with desired absent."""
    services.give_back(grant_id=grant.pk, actor=grant.user)
    grant.refresh_from_db()
    return grant


def target_for(access: gateway.AccountAccess, entitlement: Entitlement, user_name: str = "alice") -> Target:
    return Target(
        account=access,
        user_name=user_name,
        email=f"{user_name}@example.com",
        aws_name=entitlement.aws_name,
        sso_instance_arn=entitlement.account.sso_instance_arn,
    )
