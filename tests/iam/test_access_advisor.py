"""Last-accessed evidence through the gateway. moto lacks Access Advisor: botocore's Stubber answers,
validated against the real API model, with responses shaped like AWS's documented examples."""

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from iam.aws import gateway
from iam.aws.errors import TransientAwsError
from iam.facts import access_advisor

ACCOUNT = gateway.AccountAccess("123456789012")
ARN = "arn:aws:iam::123456789012:user/alice"
CREATED = datetime(2025, 1, 1, tzinfo=UTC)
JOB = "examplef-1305-c245-eba4-71fe298bcda7"


@pytest.fixture
def stub(moto_server, fresh_clients):
    with Stubber(gateway.iam_client(ACCOUNT)) as stubber:
        stubber.add_response(
            "get_user",
            {
                "User": {
                    "Path": "/",
                    "UserName": "alice",
                    "UserId": "AIDAALICEEXAMPLE0001",
                    "Arn": ARN,
                    "CreateDate": CREATED,
                }
            },
            {"UserName": "alice"},
        )
        stubber.add_response("generate_service_last_accessed_details", {"JobId": JOB}, {"Arn": ARN})
        yield stubber
        stubber.assert_no_pending_responses()


def report(status, services=()):
    # The API model requires a completion date even while the job runs; AWS's examples carry one.
    return {
        "JobStatus": status,
        "JobCreationDate": CREATED,
        "JobCompletionDate": CREATED,
        "ServicesLastAccessed": list(services),
        "IsTruncated": False,
    }


def service(namespace, when=None):
    item = {"ServiceName": namespace.upper(), "ServiceNamespace": namespace, "TotalAuthenticatedEntities": 0}
    if when:
        item["LastAuthenticated"] = when
        item["TotalAuthenticatedEntities"] = 1
    return item


def test_the_latest_use_across_services_once_the_job_completes(stub):
    march, june = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    stub.add_response("get_service_last_accessed_details", report("IN_PROGRESS"), {"JobId": JOB})
    stub.add_response(
        "get_service_last_accessed_details",
        report("COMPLETED", [service("s3", march), service("ec2", june), service("kms")]),
        {"JobId": JOB},
    )

    found = access_advisor.last_accessed(ACCOUNT, "alice", sleep=lambda seconds: None)

    assert found == access_advisor.Usage(june, 2, 3)


def test_never_used_is_said_only_when_aws_says_so(stub):
    stub.add_response("get_service_last_accessed_details", report("COMPLETED", [service("s3")]), {"JobId": JOB})

    found = access_advisor.last_accessed(ACCOUNT, "alice", sleep=lambda seconds: None)

    assert found == access_advisor.Usage(None, 0, 1)


def test_a_job_still_running_is_retried_later_not_read_as_never_used(stub):
    for _ in range(access_advisor.POLLS):
        stub.add_response("get_service_last_accessed_details", report("IN_PROGRESS"), {"JobId": JOB})

    with pytest.raises(TransientAwsError, match="still preparing"):
        access_advisor.last_accessed(ACCOUNT, "alice", sleep=lambda seconds: None)


def test_a_failed_job_means_usage_is_not_available_with_awss_reason(stub):
    failed = report("FAILED") | {"Error": {"Message": "Rate exceeded for the account", "Code": "Throttling"}}
    stub.add_response("get_service_last_accessed_details", failed, {"JobId": JOB})

    with pytest.raises(access_advisor.UsageUnavailable) as refused:
        access_advisor.last_accessed(ACCOUNT, "alice", sleep=lambda seconds: None)
    assert refused.value.reason == "Access Advisor could not prepare its report: Rate exceeded for the account"


def test_a_refusal_means_usage_is_not_available_in_plain_words(moto_server, fresh_clients):
    with Stubber(gateway.iam_client(ACCOUNT)) as stubber:
        stubber.add_client_error("get_user", service_error_code="AccessDenied", service_message="User: arn:... is not")

        with pytest.raises(access_advisor.UsageUnavailable) as refused:
            access_advisor.last_accessed(ACCOUNT, "alice", sleep=lambda seconds: None)
    assert refused.value.reason.startswith("the portal may not read Access Advisor in this account")


def test_throttling_stays_a_transient_error_to_ask_again(moto_server, fresh_clients):
    with Stubber(gateway.iam_client(ACCOUNT)) as stubber:
        stubber.add_client_error("get_user", service_error_code="Throttling", http_status_code=400)

        with pytest.raises(TransientAwsError):
            access_advisor.last_accessed(ACCOUNT, "alice", sleep=lambda seconds: None)
