"""The only module that imports boto3: sessions, clients, retries, error classification, paging.

One boto3 session per AWS account: the portal's own credentials, or STS AssumeRole into
the account's role (with its external id) as refreshable credentials that assume it again before expiry.
Clients use botocore's adaptive retry mode by default (standard retries, and a rate limiter that starts
at the account's first throttling answer); whatever still fails is raised as a typed error.

Every AWS call goes through `call`, `pages` or `collect` (or the helpers below built on them),
so no botocore exception ever leaves this module unclassified, and `counting_calls` can count
what a piece of work cost. What to call, and what an answer means for access, lives in
`iam.apply.operations` (one module per entitlement kind), `iam.catalog_import.importer` and `iam.facts.inventory`.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

# No stubs for boto3 and botocore are pinned (boto3-stubs is not in the lock): their names are Any here.
import boto3  # type: ignore[import-untyped]
import botocore.exceptions  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.credentials import RefreshableCredentials  # type: ignore[import-untyped]
from botocore.parsers import ResponseParserError  # type: ignore[import-untyped]
from django.conf import settings

from iam.aws.errors import PermanentAwsError, TransientAwsError

_TRANSIENT_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "RequestTimeout",
    # A write that raced another one; AWS's advice for both is to retry with backoff.
    "ConcurrentModification",
    "ConflictException",
}
_clients: dict[tuple, object] = {}
_building: dict[tuple, threading.Lock] = {}
_clients_lock = threading.Lock()


@dataclass
class CallCount:
    """API calls made through this module inside a `counting_calls()` block (botocore's retries excluded)."""

    calls: int = 0
    # A sync batch's threads (iam.aws.at_once) run in copies of the block's context and count into the same object.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


_call_count: ContextVar[CallCount | None] = ContextVar("aws_call_count", default=None)


@contextmanager
def counting_calls() -> Iterator[CallCount]:
    """Count the AWS API calls made through this module in the block, by this thread or task only.

    One paginated listing counts one call per page; a call that failed counts too.
    """
    count = CallCount()
    token = _call_count.set(count)
    try:
        yield count
    finally:
        _call_count.reset(token)


def _counted() -> None:
    count = _call_count.get()
    if count is not None:
        with count._lock:
            count.calls += 1


@dataclass(frozen=True)
class AccountAccess:
    """How to reach one account; built from catalog.AwsAccount by the caller."""

    account_id: str
    role_arn: str = ""
    external_id: str = ""


class Reachable(Protocol):
    """What `account_access` reads of a catalog.AwsAccount."""

    @property
    def account_id(self) -> str: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def external_id(self) -> str: ...


def account_access(account: Reachable) -> AccountAccess:
    """How to reach a catalog.AwsAccount (read by its fields, so the gateway imports no model)."""
    return AccountAccess(account.account_id, account.role_arn, account.external_id)


def _config() -> Config:
    return Config(
        region_name=settings.AWS_REGION,
        retries={"mode": settings.AWS_RETRY_MODE, "total_max_attempts": settings.AWS_MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=30,
        # One client serves a sync batch's threads at once (iam.aws.at_once): a kept connection for each.
        max_pool_connections=max(10, settings.GRANT_SYNC_THREADS),
    )


def _client(session: boto3.Session, service: str) -> Any:
    return session.client(service, endpoint_url=settings.AWS_ENDPOINT_URL or None, config=_config())


# ResponseParserError is not a BotoCoreError: an answer botocore cannot read (an HTML error page from a
# proxy or a simulator, say) would otherwise escape unclassified.
_BOTOCORE_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, ResponseParserError)


def classify(exc: Exception) -> Exception:
    """Turn a botocore exception into TransientAwsError or PermanentAwsError."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", str(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _TRANSIENT_CODES or status >= 500:
            return TransientAwsError(f"AWS is busy or failing ({code}): {message}", code)
        return PermanentAwsError(f"AWS refused ({code}): {message}", code)
    if isinstance(exc, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        return TransientAwsError(f"Could not reach AWS: {exc}", "ConnectionError")
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return PermanentAwsError("No AWS credentials are configured for the portal.", "NoCredentials")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return PermanentAwsError(f"AWS client error: {exc}", type(exc).__name__)
    if isinstance(exc, ResponseParserError):
        return TransientAwsError(f"AWS answered something unreadable: {str(exc).splitlines()[0]}", "Unreadable")
    return exc


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    _counted()
    try:
        return fn(*args, **kwargs)
    except _BOTOCORE_ERRORS as exc:
        raise classify(exc) from exc


def _assume_role(account: AccountAccess) -> dict[str, str]:
    """AssumeRole into the account, as botocore's refreshable-credentials metadata."""
    kwargs = {"RoleArn": account.role_arn, "RoleSessionName": "access-portal"}
    if account.external_id:
        kwargs["ExternalId"] = account.external_id
    sts = _client(boto3.Session(region_name=settings.AWS_REGION), "sts")
    credentials = _call(sts.assume_role, **kwargs)["Credentials"]
    return {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        "token": credentials["SessionToken"],
        "expiry_time": credentials["Expiration"].isoformat(),
    }


def _assumed_role_session(account: AccountAccess) -> boto3.Session:
    """A session whose credentials assume the role again before they expire, by themselves.

    botocore's RefreshableCredentials call AssumeRole again when the session is within 15 minutes of
    expiry (and must, within 10), before signing the next request; so a reconcile or import that walks an
    account for longer than a session lasts never fails on an expired token halfway. The first AssumeRole
    is made here, so an unreachable role is reported when the client is built, as before.
    """
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=_assume_role(account),
        refresh_using=lambda: _assume_role(account),
        method="sts-assume-role",
    )
    core = botocore.session.Session()
    core._credentials = credentials  # botocore's documented way round: no public setter for refreshable ones
    return boto3.Session(botocore_session=core, region_name=settings.AWS_REGION)


def assumed_role_arn(account: AccountAccess) -> str:
    """AssumeRole into the account now, bypassing the cache: the session's ARN, or a typed refusal why not."""
    kwargs = {"RoleArn": account.role_arn, "RoleSessionName": "access-portal-check"}
    if account.external_id:
        kwargs["ExternalId"] = account.external_id
    sts = _client(boto3.Session(region_name=settings.AWS_REGION), "sts")
    return _call(sts.assume_role, **kwargs)["AssumedRoleUser"]["Arn"]


def client_for(account: AccountAccess, service: str) -> Any:
    """A cached client for the account: the portal's credentials, or its role's, refreshed as they near expiry.

    Clients are thread-safe and expensive to build, so one per account, role, service and endpoint is kept,
    built under a lock of its key: a sync batch's threads asking at once assume the role once, not once each.
    """
    key = (
        account.account_id,
        account.role_arn,
        service,
        settings.AWS_ENDPOINT_URL,
        settings.AWS_MAX_ATTEMPTS,
        settings.AWS_RETRY_MODE,
    )
    with _clients_lock:
        cached = _clients.get(key)
        building = _building.setdefault(key, threading.Lock())
    if cached:
        return cached
    with building:  # one key's builder at a time; other accounts are not held up by a slow AssumeRole
        if key not in _clients:
            own = boto3.Session(region_name=settings.AWS_REGION)
            client = _client(_assumed_role_session(account) if account.role_arn else own, service)
            with _clients_lock:
                _clients[key] = client
    return _clients[key]


def iam_client(account: AccountAccess) -> Any:
    return client_for(account, "iam")


def call(account: AccountAccess, service: str, operation: str, **params: Any) -> dict:
    """One AWS API call (`operation` in boto3's snake_case), its errors typed."""
    return _call(getattr(client_for(account, service), operation), **params)


def pages(account: AccountAccess, service: str, operation: str, **params: Any) -> Iterator[dict]:
    """Each page of a paginated listing in turn: botocore's paginator follows each page's marker.

    `params` may include botocore's PaginationConfig (PageSize, for instance).
    """
    try:
        for page in client_for(account, service).get_paginator(operation).paginate(**params):
            _counted()
            yield page
    except _BOTOCORE_ERRORS as exc:
        _counted()
        raise classify(exc) from exc


def collect(account: AccountAccess, service: str, operation: str, result_key: str, **params: Any) -> list:
    """Every item of a paginated listing, all pages.

    Always used for listings, even where the simulator answers in one page: real AWS pages.
    """
    return [item for page in pages(account, service, operation, **params) for item in page.get(result_key, [])]


def object_chunks(account: AccountAccess, bucket: str, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """One S3 object's bytes, a chunk at a time (never the whole object at once), its errors typed.

    A connection dropped halfway through the body is a TransientAwsError like any other failed call.
    """
    body = call(account, "s3", "get_object", Bucket=bucket, Key=key)["Body"]
    try:
        while chunk := body.read(chunk_size):
            yield chunk
    except _BOTOCORE_ERRORS as exc:
        raise classify(exc) from exc
    except OSError as exc:  # urllib3's protocol and read errors are OSErrors
        raise TransientAwsError(f"Could not read s3://{bucket}/{key} to its end: {exc}", "ConnectionError") from exc
    finally:
        body.close()


# --- IAM actions --------------------------------------------------------------------------

# Where the IAM action is not the service's signing name and the API operation's name (AWS's Service
# Authorization Reference): S3 lists a bucket's objects under s3:ListBucket; PutObject with a retention date
# (the audit anchors' Object Lock) also needs s3:PutObjectRetention.
_ACTION_EXCEPTIONS = {
    ("s3", "list_objects_v2"): ("s3:ListBucket",),
    ("s3", "put_object"): ("s3:PutObject", "s3:PutObjectRetention"),
}


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions a boto3 call needs, from botocore's service model: `prefix:OperationName`.

    Raises ValueError for an operation the service does not have, so a typo in a list of calls is caught.
    """
    if (service, operation) in _ACTION_EXCEPTIONS:
        return _ACTION_EXCEPTIONS[(service, operation)]
    model = botocore.session.get_session().get_service_model(service)
    api_names = {botocore.xform_name(name): name for name in model.operation_names}
    if operation not in api_names:
        raise ValueError(f"{service} has no operation {operation}")
    prefix = model.signing_name or model.endpoint_prefix
    return (f"{prefix}:{api_names[operation]}",)


# --- IAM users and groups ---------------------------------------------------------------


def ensure_user(account: AccountAccess, user_name: str, tags: dict[str, str] | None = None) -> bool:
    """Create the IAM user unless it exists, in one call. Returns True if it was created.

    CreateUser first, not GetUser: a new user costs one call, never a failed one first, and
    EntityAlreadyExists (an existing user, or another worker's creation) means it exists.
    """
    tag_list = [{"Key": key, "Value": value} for key, value in (tags or {}).items()]
    try:
        _call(iam_client(account).create_user, UserName=user_name, Tags=tag_list)
    except PermanentAwsError as exc:
        if exc.code != "EntityAlreadyExists":
            raise
        return False
    return True


def user_exists(account: AccountAccess, user_name: str) -> bool:
    """Whether AWS shows the IAM user (GetUser)."""
    try:
        _call(iam_client(account).get_user, UserName=user_name)
    except PermanentAwsError as exc:
        if exc.code == "NoSuchEntity":
            return False
        raise
    return True


def ensure_group(account: AccountAccess, group_name: str) -> bool:
    """Create the IAM group unless it exists. Returns True if it was created."""
    iam = iam_client(account)
    try:
        _call(iam.get_group, GroupName=group_name)
        return False
    except PermanentAwsError as exc:
        if exc.code != "NoSuchEntity":
            raise
    _call(iam.create_group, GroupName=group_name)
    return True


def add_user_to_group(account: AccountAccess, user_name: str, group_name: str) -> None:
    """Idempotent: adding a member that is already there succeeds."""
    _call(iam_client(account).add_user_to_group, GroupName=group_name, UserName=user_name)


def remove_user_from_group(account: AccountAccess, user_name: str, group_name: str) -> None:
    """Idempotent: removing someone who is not a member (or no longer exists) succeeds."""
    try:
        _call(iam_client(account).remove_user_from_group, GroupName=group_name, UserName=user_name)
    except PermanentAwsError as exc:
        if exc.code != "NoSuchEntity":
            raise


def groups_of_user(account: AccountAccess, user_name: str) -> set[str]:
    """Read back the user's group memberships from AWS (all pages)."""
    return {
        group["GroupName"] for group in collect(account, "iam", "list_groups_for_user", "Groups", UserName=user_name)
    }


# --- a leaver's own credentials -----------------------------------------------------------


def deactivate_access_keys(account: AccountAccess, user_name: str) -> list[dict]:
    """Set every access key of the user Inactive (kept, not deleted: the evidence stays); read them back.

    Idempotent: a key already inactive is left as it is. Returns the keys as AWS shows them afterwards.
    """
    keys = collect(account, "iam", "list_access_keys", "AccessKeyMetadata", UserName=user_name)
    for key in keys:
        if key["Status"] != "Inactive":
            call(
                account,
                "iam",
                "update_access_key",
                UserName=user_name,
                AccessKeyId=key["AccessKeyId"],
                Status="Inactive",
            )
    return collect(account, "iam", "list_access_keys", "AccessKeyMetadata", UserName=user_name)


def delete_login_profile(account: AccountAccess, user_name: str) -> bool:
    """Delete the user's console password; True if there was one. Idempotent (none left is fine)."""
    try:
        call(account, "iam", "delete_login_profile", UserName=user_name)
    except PermanentAwsError as exc:
        if exc.code != "NoSuchEntity":
            raise
        return False
    return True


def has_login_profile(account: AccountAccess, user_name: str) -> bool:
    """Read back whether the user has a console password (GetLoginProfile)."""
    try:
        call(account, "iam", "get_login_profile", UserName=user_name)
    except PermanentAwsError as exc:
        if exc.code == "NoSuchEntity":
            return False
        raise
    return True


def deactivate_mfa_devices(account: AccountAccess, user_name: str) -> list[str]:
    """Deactivate every MFA device of the user (serials returned, as they were before); idempotent."""
    devices = collect(account, "iam", "list_mfa_devices", "MFADevices", UserName=user_name)
    for device in devices:
        try:
            call(account, "iam", "deactivate_mfa_device", UserName=user_name, SerialNumber=device["SerialNumber"])
        except PermanentAwsError as exc:
            if exc.code != "NoSuchEntity":  # deactivated meanwhile (a second run, another worker)
                raise
    return [device["SerialNumber"] for device in devices]


def mfa_devices(account: AccountAccess, user_name: str) -> list[str]:
    """Read back the serials of the MFA devices still enabled for the user."""
    return [d["SerialNumber"] for d in collect(account, "iam", "list_mfa_devices", "MFADevices", UserName=user_name)]


def inline_user_policies(account: AccountAccess, user_name: str) -> dict[str, dict]:
    """The user's inline policy documents by name (for the roles they could assume)."""
    names = collect(account, "iam", "list_user_policies", "PolicyNames", UserName=user_name)
    documents = {}
    for name in names:
        document = call(account, "iam", "get_user_policy", UserName=user_name, PolicyName=name)["PolicyDocument"]
        documents[name] = document
    return documents
