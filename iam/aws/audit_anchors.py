"""The audit trail's anchors in an S3 bucket with object lock (AUDIT_ANCHOR_BUCKET).

`audit` builds and checks the digests but never talks to AWS; this store is registered with it when the
iam app starts (iam/apps.py). Each digest is written only if its key is new (If-None-Match) and locked
in COMPLIANCE mode for AUDIT_ANCHOR_RETENTION_DAYS, so neither the portal's credentials nor anyone else
can overwrite or delete it before then; a bucket without object lock refuses the write.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings

from audit.anchoring import AnchorExists
from iam.aws import gateway
from iam.aws.errors import PermanentAwsError

# The portal's own credentials (no role to assume): the bucket is the portal's, not a governed account's.
PORTAL = gateway.AccountAccess(account_id="portal")
# S3's answers when the key already exists (or a concurrent write to it is under way).
ALREADY_THERE = {"PreconditionFailed", "ConditionalRequestConflict"}


class BucketAnchorStore:
    def __init__(self, bucket: str, prefix: str):
        self.bucket, self.prefix = bucket, prefix

    def write(self, name: str, body: bytes) -> None:
        retain_until = datetime.now(UTC) + timedelta(days=settings.AUDIT_ANCHOR_RETENTION_DAYS)
        try:
            gateway.call(
                PORTAL,
                "s3",
                "put_object",
                Bucket=self.bucket,
                Key=self.prefix + name,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=retain_until,
            )
        except PermanentAwsError as refused:
            if refused.code in ALREADY_THERE:
                raise AnchorExists(name) from refused
            raise

    def names(self) -> list[str]:
        objects = gateway.collect(PORTAL, "s3", "list_objects_v2", "Contents", Bucket=self.bucket, Prefix=self.prefix)
        return sorted(item["Key"][len(self.prefix) :] for item in objects if item["Key"].endswith(".json"))

    def read(self, name: str) -> bytes:
        return gateway.call(PORTAL, "s3", "get_object", Bucket=self.bucket, Key=self.prefix + name)["Body"].read()
