"""Property-based: whatever a client sends that the schema allows, or almost allows, no answer is a 5xx,
and every answer, the 4xx among them (the one `Error` body), is what the schema says it is.

Schemathesis reads the served OpenAPI document and generates requests for every operation, both
valid (positive) and deliberately invalid (negative), and sends them through the real WSGI
application, in this thread, inside the test's transaction.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from access import services
from portal.wsgi import application
from tests.conftest import api_token

EXAMPLES_PER_OPERATION = 25
# Derandomized: the same examples on every run, and no example database carried between runs.
FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def in_test_transaction():
    """Keep the connection open across requests, as Django's own test client does.

    The WSGI handler closes the connection as a request starts and ends (CONN_MAX_AGE=0), which
    would end the test's transaction under it.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def bobs_token(cast, sandbox, alices_request):
    """Bob has a request of Alice's to decide and a grant of his own, so ids in range hit real rows."""
    own = services.submit_request(
        requester=cast.bob, entitlement=sandbox.developers, justification="Reviewing the team's deployment pipeline"
    )
    services.approve(request_id=own.pk, actor=cast.erin)
    return api_token(cast.bob)


def fuzz(operation, mode, auth: dict) -> int:
    """Send EXAMPLES_PER_OPERATION generated requests to one operation; return how many were sent."""
    sent = 0

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case):
        nonlocal sent
        sent += 1
        case.call_and_validate(headers=auth, checks=[not_a_server_error, response_schema_conformance])

    call()
    return sent


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_request_makes_the_api_fail(in_test_transaction, bobs_token, mode):
    auth = {"Authorization": f"Token {bobs_token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]

    sent = {operation.label: fuzz(operation, mode, auth) for operation in operations}

    assert len(operations) == 34
    assert all(sent.values()), sent
