"""API clients for the cast, and a request of Alice's waiting for Bob."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from access import services

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """The token endpoint counts attempts in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_for(db):
    """A client signed in as `person`, as a script holding their token would be."""

    def client(person):
        api = APIClient()
        api.force_authenticate(person)
        return api

    return client


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def alices_request(cast, sandbox):
    """Alice asks for Developers; Bob, her manager, is asked to decide."""
    return services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)
