"""Helpers for the posture tests: credential report CSVs, a direct boto3 client, a stubbed Access Analyzer.

Access Analyzer is not simulated by moto, so its client (the gateway's own, cached one) is
wrapped in botocore's Stubber, which checks requests and answers against the real API model.
"""

import csv
import io
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from iam.aws import gateway

COLUMNS = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
]
NO_KEY = {"access_key_1_active": "false", "access_key_1_last_rotated": "N/A", "access_key_1_last_used_date": "N/A"}


def report_csv(*rows: dict) -> str:
    """A credential report with these rows; unnamed columns are `N/A`, as AWS writes them."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="N/A")
    writer.writeheader()
    for row in rows:
        writer.writerow({"arn": f"arn:aws:iam::123456789012:user/{row['user']}", **NO_KEY, **row})
    return out.getvalue()


def analyzer(status: str = "ACTIVE") -> dict:
    return {
        "arn": "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/account",
        "name": "account",
        "type": "ACCOUNT",
        "createdAt": datetime(2026, 1, 1, tzinfo=UTC),
        "status": status,
    }


@pytest.fixture
def aws_direct(moto_server):
    """A boto3 client straight to the simulated AWS, for setting it up and checking it."""

    def client(service: str):
        return boto3.client(service, endpoint_url=moto_server, region_name="us-east-1")

    return client


@pytest.fixture
def fresh_clients():
    """Gateway clients built for this test only (a test stubs one)."""
    gateway._clients.clear()
    yield
    gateway._clients.clear()


@pytest.fixture
def stub(fresh_clients):
    """Stub one of the gateway's clients for an account; every stubbed answer must be used."""
    stubbers = []

    def make(access: gateway.AccountAccess, service: str) -> Stubber:
        stubber = Stubber(gateway.client_for(access, service))
        stubber.activate()
        stubbers.append(stubber)
        return stubber

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


@pytest.fixture
def moto_report_clock(fresh_clients):
    """Moto stamps every credential report 2015-02-02; AWS stamps it when generated.

    Rewrites GeneratedTime on the gateway's client for the given account to the moment moto
    answered, so the four-hour freshness rule sees what real AWS would send.
    """

    def stamp(parsed, **_):
        if "GeneratedTime" in parsed:
            parsed["GeneratedTime"] = datetime.now(UTC)

    def install(access: gateway.AccountAccess) -> None:
        gateway.client_for(access, "iam").meta.events.register("after-call.iam.GetCredentialReport", stamp)

    return install
