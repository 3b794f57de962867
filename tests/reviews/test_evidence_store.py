"""The evidence store is chosen by settings: a folder by default, an S3 bucket (django-storages) when
PORTAL_EVIDENCE_BUCKET is set. Checked in a fresh process, as an operator's environment would start it,
against the moto server's S3."""

import json

import boto3
import pytest

from tests.test_settings import manage

STORE_AND_READ_BACK = """
import json
from django.core.files.base import ContentFile
from django.core.files.storage import storages
store = storages["evidence"]
name = store.save("evidence/review-1-evidence-1.csv", ContentFile(b"campaign,holder\\r\\nQ4,Alice\\r\\n"))
with store.open(name, "rb") as stored:
    body = stored.read().decode()
print(json.dumps({"backend": type(store).__name__, "name": name, "body": body}))
"""


@pytest.mark.timeout(180)
def test_with_a_bucket_set_packs_are_stored_in_s3_encrypted(moto_server, tmp_path):
    s3 = boto3.client(
        "s3", endpoint_url=moto_server, region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    s3.create_bucket(Bucket="portal-evidence", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    ran = manage(
        "shell",
        "-c",
        STORE_AND_READ_BACK,
        PORTAL_VAR_DIR=str(tmp_path),
        PORTAL_EVIDENCE_BUCKET="portal-evidence",
        PORTAL_EVIDENCE_REGION="eu-west-1",
        PORTAL_EVIDENCE_ENDPOINT_URL=moto_server,
        AWS_ACCESS_KEY_ID="t",
        AWS_SECRET_ACCESS_KEY="t",
    )

    assert ran.returncode == 0, ran.stderr[-3000:]
    stored = json.loads(ran.stdout.strip().splitlines()[-1])
    assert stored == {
        "backend": "S3Storage",
        "name": "evidence/review-1-evidence-1.csv",
        "body": "campaign,holder\r\nQ4,Alice\r\n",
    }
    key = "evidence-packs/evidence/review-1-evidence-1.csv"
    assert s3.head_object(Bucket="portal-evidence", Key=key)["ServerSideEncryption"] == "AES256"
    assert not (tmp_path / "evidence").exists(), "nothing written to the folder"


@pytest.mark.timeout(180)
def test_without_a_bucket_packs_are_files_only_the_portal_reads(tmp_path):
    ran = manage("shell", "-c", STORE_AND_READ_BACK, PORTAL_VAR_DIR=str(tmp_path))

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout.strip().splitlines()[-1])["backend"] == "FileSystemStorage"
    stored = tmp_path / "evidence" / "evidence" / "review-1-evidence-1.csv"
    assert stored.read_bytes() == b"campaign,holder\r\nQ4,Alice\r\n"
    assert stored.stat().st_mode & 0o777 == 0o600
