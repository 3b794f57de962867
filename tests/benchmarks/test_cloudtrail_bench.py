"""Benchmark: summarising CloudTrail log files for one account (iam.facts.cloudtrail), beside `zcat | jq` on the same
files.

Generates gzip JSON files as CloudTrail writes them (BENCH_CLOUDTRAIL_MB of JSON before compression, default 200;
the issue's figure is 1024) for 50 people, then summarises one person's calls with the code the portal runs
(decompress, parse, match, count: `iam.facts.cloudtrail.summarise_file`, file by file as read from S3, the S3 reads
themselves left out) and with `zcat <files> | jq` selecting and counting the same person's calls. Prints MB/s
for both and the process's peak memory, which stays near one file's size whatever the total. Run by `make bench`.
"""

import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from iam.facts import cloudtrail
from tests.iam.trail_files import iam_user_call

MEGABYTES = int(os.environ.get("BENCH_CLOUDTRAIL_MB", 200))
FILE_MB = 5  # CloudTrail delivers a file about every 5 minutes per region: a few MB for a busy account
PEOPLE = [f"user{n:02d}" for n in range(50)]
ACTIONS = [
    ("s3.amazonaws.com", "GetObject"),
    ("s3.amazonaws.com", "PutObject"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("iam.amazonaws.com", "ListRoles"),
    ("lambda.amazonaws.com", "UpdateFunctionCode"),
    ("sts.amazonaws.com", "AssumeRole"),
]
START = datetime(2026, 11, 1, tzinfo=UTC)


def generate(folder: Path) -> tuple[list[Path], int]:
    """Files of about FILE_MB of JSON each, written one at a time (never the whole set in memory)."""
    rng = random.Random(7)
    files, total, n = [], 0, 0
    while total < MEGABYTES * 1024 * 1024:
        records, size = [], 0
        while size < FILE_MB * 1024 * 1024:
            source, name = rng.choice(ACTIONS)
            record = iam_user_call(
                rng.choice(PEOPLE), START + timedelta(seconds=rng.randrange(86400 * 20)), source, name
            )
            records.append(record)
            size += 900  # about a record's JSON
        data = json.dumps({"Records": records}).encode()
        path = folder / f"123456789012_CloudTrail_us-east-1_{n:05d}.json.gz"
        path.write_bytes(gzip.compress(data, compresslevel=1))
        files.append(path)
        total += len(data)
        n += 1
    return files, total


def chunks_of(path: Path):
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def test_summarising_cloudtrail_files_beside_zcat_and_jq(tmp_path):
    files, total = generate(tmp_path)
    megabytes = total / 1024 / 1024
    compressed = sum(path.stat().st_size for path in files) / 1024 / 1024
    print(f"\nCloudTrail benchmark: {len(files)} files, {megabytes:.0f} MB of JSON ({compressed:.0f} MB gzip)")

    summaries = {"user07": cloudtrail.Summary()}
    matchers = {"user07": cloudtrail.iam_user("user07")}
    end = START + timedelta(days=30)
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    for path in files:
        assert cloudtrail.summarise_file(summaries, chunks_of(path), matchers, START, end)
    ours = time.perf_counter() - began
    calls = summaries["user07"].calls
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  iam.facts.cloudtrail: {ours:.1f} s, {megabytes / ours:.1f} MB/s; {calls} calls by user07")
    print(
        f"  peak memory of the process: {peak_mb:.0f} MB ({before_mb:.0f} MB before summarising; "
        f"one file is {FILE_MB} MB of JSON)"
    )
    assert calls > 0

    if not (shutil.which("jq") and shutil.which("zcat")):
        print("  zcat | jq baseline skipped: jq is not installed")
        return
    command = (
        "zcat " + " ".join(str(path) for path in files) + " | jq -c '[.Records[] | "
        'select(.userIdentity.type == "IAMUser" and .userIdentity.userName == "user07")] | length\''
    )
    began = time.perf_counter()
    output = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout  # noqa: S607
    theirs = time.perf_counter() - began
    assert sum(int(line) for line in output.split()) == calls, "both count the same calls"
    print(f"  zcat | jq:      {theirs:.1f} s, {megabytes / theirs:.1f} MB/s")
    print(f"  ratio: {theirs / ours:.2f}x the speed of zcat | jq (the issue's target: at least 0.5x)")
