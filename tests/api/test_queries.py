"""Lists cost a fixed number of queries, however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access import services
from catalog.models import Entitlement
from tests.api.conftest import GOOD_REASON


def queries_for(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def add_requested_entitlement(cast, sandbox, number):
    """One more entitlement, owned by Carol, that Alice asks for and Bob approves; Bob asks for it too."""
    entitlement = Entitlement.objects.create(
        account=sandbox.account, aws_name=f"Team{number}", name=f"Team {number}", risk=Entitlement.Risk.LOW
    )
    entitlement.owners.set([cast.carol, cast.dave])
    alices = services.submit_request(requester=cast.alice, entitlement=entitlement, justification=GOOD_REASON)
    services.approve(request_id=alices.pk, actor=cast.bob, comment="fine")
    services.submit_request(requester=cast.bob, entitlement=entitlement, justification=GOOD_REASON)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("alice", "/api/catalog/"),
        ("alice", "/api/requests/"),
        ("alice", "/api/grants/"),
        ("erin", "/api/approvals/"),
    ],
)
def test_lists_take_a_fixed_number_of_queries(cast, sandbox, api_for, who, path):
    client = api_for(getattr(cast, who))
    add_requested_entitlement(cast, sandbox, 1)
    with_one = queries_for(client, path)

    for number in (2, 3, 4):
        add_requested_entitlement(cast, sandbox, number)

    assert queries_for(client, path) == with_one
    assert len(client.get(path).json()["results"]) >= 4
