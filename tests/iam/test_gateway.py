"""The AWS gateway: sessions per account, retries, error classification, pagination."""

import datetime

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from iam.aws import gateway
from iam.aws.errors import PermanentAwsError, TransientAwsError

THROTTLED = b"""<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>
<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"""
DENIED = b"""<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
<Message>User is not authorized to perform: iam:AddUserToGroup</Message></Error>
<RequestId>2</RequestId></ErrorResponse>"""


class FakeRaw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def answer_every(client, operation: str, status: int, body: bytes) -> list[int]:
    """Make AWS answer `operation` with an error, as botocore's own retry tests do; count attempts."""
    attempts: list[int] = []

    def respond(request, **kwargs):
        attempts.append(1)
        return AWSResponse(request.url, status, {}, FakeRaw(body))

    client.meta.events.register(f"before-send.iam.{operation}", respond)
    return attempts


@pytest.fixture
def account(moto_server):
    return gateway.AccountAccess("123456789012")


@pytest.fixture
def fresh_clients():
    gateway._clients.clear()
    yield
    gateway._clients.clear()


def test_throttling_is_retried_then_raised_as_transient(account, fresh_clients, settings):
    settings.AWS_MAX_ATTEMPTS = 3
    attempts = answer_every(gateway.iam_client(account), "AddUserToGroup", 400, THROTTLED)

    with pytest.raises(TransientAwsError, match="Throttling"):
        gateway.add_user_to_group(account, "alice", "Developers")

    assert len(attempts) == 3, "botocore's standard retry mode tried the configured number of times"


def test_access_denied_is_permanent_and_not_retried(account, fresh_clients, settings):
    settings.AWS_MAX_ATTEMPTS = 3
    attempts = answer_every(gateway.iam_client(account), "AddUserToGroup", 403, DENIED)

    with pytest.raises(PermanentAwsError, match="AccessDenied") as refused:
        gateway.add_user_to_group(account, "alice", "Developers")

    assert refused.value.code == "AccessDenied"
    assert len(attempts) == 1


def test_membership_read_back_follows_every_page(account, fresh_clients):
    client = gateway.iam_client(account)
    created = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

    def group(name):
        return {
            "Path": "/",
            "GroupName": name,
            "GroupId": f"AGPA{name.upper():0<17}"[:21],
            "CreateDate": created,
            "Arn": f"arn:aws:iam::123456789012:group/{name}",
        }

    with Stubber(client) as stub:
        stub.add_response(
            "list_groups_for_user",
            {"Groups": [group("Developers")], "IsTruncated": True, "Marker": "page-2"},
            {"UserName": "alice"},
        )
        stub.add_response(
            "list_groups_for_user",
            {"Groups": [group("ReadOnly")], "IsTruncated": False},
            {"UserName": "alice", "Marker": "page-2"},
        )
        assert gateway.groups_of_user(account, "alice") == {"Developers", "ReadOnly"}
        stub.assert_no_pending_responses()


def test_account_with_a_role_is_reached_through_sts_and_cached(moto_server, fresh_clients):
    account = gateway.AccountAccess("210987654321", "arn:aws:iam::210987654321:role/PortalAccess", "ext-123")

    client = gateway.iam_client(account)

    assert gateway.iam_client(account) is client
    assert client._request_signer._credentials.access_key.startswith("ASIA"), "temporary STS credentials"
    assert gateway.iam_client(gateway.AccountAccess("123456789012")) is not client


def test_an_unreadable_answer_is_transient_not_a_crash(account, fresh_clients, settings):
    settings.AWS_MAX_ATTEMPTS = 1
    answer_every(gateway.iam_client(account), "AddUserToGroup", 200, b"<!doctype html><p>Bad gateway</p>")

    with pytest.raises(TransientAwsError, match="AWS answered something unreadable"):
        gateway.add_user_to_group(account, "alice", "Developers")
