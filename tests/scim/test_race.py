"""SCIM deactivation at the very moment the person's manager approves their request (PostgreSQL).

Both run at once, released by a barrier, each on its own connection, for ROUNDS rounds. Whichever wins,
the end is the same: the person is a leaver, holds nothing, has nothing pending, and the audit chain holds.
"""

import threading

import pytest
from django.db import connection
from django.test import Client

from access import services
from access.models import AccessRequest, Grant
from audit.verification import verify_chain
from inputs.refusals import Refusal
from scim import services as scim
from scim.models import IdentityProvider
from scim.resources import patched
from scim.tokens import issue_token
from tests.scim.conftest import PATCH_OP

ROUNDS = 10
REASON = "Deploying the billing service for the Q4 release"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_scim_deactivation_while_the_manager_approves_ends_consistent(cast, sandbox, django_user_model):
    _, token = issue_token(name="Okta")
    problems = []
    for number in range(ROUNDS):
        person = django_user_model.objects.create_user(
            email=f"racer{number}@example.com", password=None, full_name=f"Racer {number}", manager=cast.bob
        )
        pending = services.submit_request(requester=person, entitlement=sandbox.developers, justification=REASON)
        # Over HTTP the IdP's call has more to do before it locks the person than the approval, so every
        # other round calls the SCIM service the view calls, and both orders happen.
        outcomes = race(token, person, pending, cast.bob, over_http=number % 2 == 0)
        person.refresh_from_db()
        pending.refresh_from_db()
        if outcomes.get("scim") != 200:
            problems.append(f"round {number}: SCIM answered {outcomes.get('scim')}")
        if outcomes.get("approve") not in ("approved", "StaleState"):
            problems.append(f"round {number}: approval ended {outcomes.get('approve')}")
        if not person.is_leaver or person.is_active:
            problems.append(f"round {number}: not a leaver")
        if Grant.objects.filter(user=person, desired=Grant.Desired.PRESENT).exists():
            problems.append(f"round {number}: a leaver still holds access")
        if pending.state == AccessRequest.State.PENDING:
            problems.append(f"round {number}: a request still pending")
    assert problems == []
    assert verify_chain().broken is None


def race(token: str, person, pending, manager, *, over_http: bool) -> dict:
    """The IdP's deactivation and the manager's approval at once; how each ended."""
    barrier = threading.Barrier(2)
    outcomes = {}

    def deactivate():
        try:
            barrier.wait(timeout=30)
            if not over_http:
                provider = IdentityProvider.objects.get(name="Okta")
                leaving = [{"op": "replace", "value": {"active": False}}]
                scim.update_user(
                    provider=provider, person_id=person.pk, change=lambda data: patched(data, leaving), verb="patched"
                )
                outcomes["scim"] = 200
                return
            response = Client().patch(
                f"/scim/v2/Users/{person.pk}",
                data={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
                content_type="application/scim+json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            outcomes["scim"] = response.status_code
        except Exception as error:  # anything here (a SCIM refusal included) fails the test, named
            outcomes["scim"] = repr(error)
        finally:
            connection.close()

    def approve():
        try:
            barrier.wait(timeout=30)
            services.approve(request_id=pending.pk, actor=manager)
            outcomes["approve"] = "approved"
        except Refusal as refused:  # the request was cancelled first: a typed refusal
            outcomes["approve"] = type(refused).__name__
        except Exception as error:
            outcomes["approve"] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deactivate), threading.Thread(target=approve)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return outcomes
