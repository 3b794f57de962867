"""CloudTrail log files as CloudTrail writes them: gzip JSON `{"Records": [...]}` under
`<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`, for the tests and the benchmark to put into S3."""

import gzip
import json
import uuid
from datetime import datetime

ACCOUNT = "123456789012"


def iam_user_call(user: str, when: datetime, source: str, name: str, error: str = "") -> dict:
    return _record(
        {"type": "IAMUser", "userName": user, "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT},
        when,
        source,
        name,
        error,
    )


def role_call(role: str, session: str, when: datetime, source: str, name: str) -> dict:
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"
    return _record({"type": "AssumedRole", "arn": arn, "accountId": ACCOUNT}, when, source, name)


def _record(identity: dict, when: datetime, source: str, name: str, error: str = "") -> dict:
    record = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        "requestParameters": {"bucketName": "billing-data", "key": "reports/2026/11.csv"},
        "responseElements": None,
        "eventID": str(uuid.uuid4()),
        "readOnly": not name.startswith(("Create", "Delete", "Put")),
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    if error:
        record["errorCode"] = error
        record["errorMessage"] = "User is not authorized to perform this operation"
    return record


def log_file(records: list[dict]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=6)


def key_for(when: datetime, prefix: str = "", region: str = "us-east-1", n: int = 0) -> str:
    folder = f"{prefix.strip('/') + '/' if prefix else ''}AWSLogs/{ACCOUNT}/CloudTrail/{region}/{when:%Y/%m/%d}/"
    return f"{folder}{ACCOUNT}_CloudTrail_{region}_{when:%Y%m%dT%H%M}Z_{n:04d}{uuid.uuid4().hex[:12]}.json.gz"
