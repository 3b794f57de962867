"""An assumed role's session renews itself: a walk that outlives its credentials carries on, no error.

AWS sessions last an hour by default; a reconcile of a large account can take longer. The moto server
issues sessions as AWS does, so the expiry is brought forward in the session itself (as if the walk had
run for most of an hour) rather than waiting.
"""

from datetime import UTC, datetime, timedelta

import pytest

from iam.aws import gateway

ROLE = gateway.AccountAccess("210987654321", "arn:aws:iam::210987654321:role/PortalAccess", "ext-123")


@pytest.fixture
def fresh_clients():
    gateway._clients.clear()
    yield
    gateway._clients.clear()


def _credentials(client):
    return client._request_signer._credentials


def test_a_long_walk_assumes_the_role_again_when_its_session_nears_expiry(moto_server, fresh_clients):
    for name in ("alice", "bob", "carol"):
        gateway.ensure_user(ROLE, name)
    credentials = _credentials(gateway.iam_client(ROLE))
    first_key = credentials.get_frozen_credentials().access_key

    walk = gateway.pages(ROLE, "iam", "list_users", PaginationConfig={"PageSize": 1})
    seen = [user["UserName"] for user in next(walk)["Users"]]
    # An hour has nearly gone: the session has a minute left, inside botocore's mandatory refresh window.
    credentials._expiry_time = datetime.now(UTC) + timedelta(minutes=1)
    seen += [user["UserName"] for page in walk for user in page["Users"]]

    assert sorted(seen) == ["alice", "bob", "carol"], "the walk went on to the end"
    renewed = credentials.get_frozen_credentials()
    assert renewed.access_key != first_key, "a second AssumeRole gave the session new keys"
    assert renewed.access_key.startswith("ASIA")
    assert credentials._expiry_time > datetime.now(UTC) + timedelta(minutes=30), "a fresh hour from STS"
    assert gateway.iam_client(ROLE) is gateway.iam_client(ROLE), "the same client, its credentials renewed"


def test_a_session_far_from_expiry_is_not_renewed(moto_server, fresh_clients):
    gateway.ensure_user(ROLE, "alice")
    credentials = _credentials(gateway.iam_client(ROLE))
    before = credentials.get_frozen_credentials().access_key

    with gateway.counting_calls() as count:
        assert gateway.user_exists(ROLE, "alice")

    assert credentials.get_frozen_credentials().access_key == before
    assert count.calls == 1, "GetUser only, no AssumeRole"
