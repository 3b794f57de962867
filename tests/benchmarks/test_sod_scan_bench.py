"""Benchmark: the nightly separation-of-duties scan over 100,000 people holding 10 grants each.

Prints time and peak memory of the scan (sod.scan.scan_holdings, the part that grows with the
data) and, as a baseline in the same process, the naive way: pooling each person's documents and
evaluating every permission rule on them, timed on a sample and scaled. Run by `make bench`.
"""

import os
import random
import time
import tracemalloc

from sod.evaluation import RuleView, entitlement_conflict, evaluate_actions
from sod.scan import scan_holdings

PEOPLE = int(os.environ.get("BENCH_SOD_PEOPLE", 100_000))
GRANTS_EACH = 10
ENTITLEMENTS = 2_000
BASELINE_SAMPLE = 2_000
SERVICES = ["iam", "lambda", "s3", "ec2", "sts", "kms", "dynamodb", "sqs"]
VERBS = ["Create", "Delete", "Get", "List", "Put", "Update", "Pass", "Attach"]


def synthetic_documents(rng: random.Random) -> dict[int, list[dict]]:
    documents = {}
    for entitlement in range(ENTITLEMENTS):
        statements = []
        for _ in range(rng.randint(1, 4)):
            actions = [
                f"{rng.choice(SERVICES)}:{rng.choice(VERBS)}{rng.choice(['', 'Role', 'Function', '*'])}"
                for _ in range(rng.randint(1, 6))
            ]
            statements.append({"Effect": rng.choice(["Allow"] * 9 + ["Deny"]), "Action": actions, "Resource": "*"})
        documents[entitlement] = [{"Version": "2012-10-17", "Statement": statements}]
    return documents


def rules(rng: random.Random) -> list[RuleView]:
    made = [
        RuleView(
            i,
            f"E{i}",
            "why",
            "entitlements",
            "block",
            frozenset(rng.sample(range(ENTITLEMENTS), 5)),
            frozenset(rng.sample(range(ENTITLEMENTS), 5)),
        )
        for i in range(20)
    ]
    made += [
        RuleView(
            100 + i,
            f"P{i}",
            "why",
            "permissions",
            "block",
            actions=("iam:PassRole", f"{rng.choice(SERVICES[1:])}:Create{rng.choice(['Function', ''])}"),
        )
        for i in range(5)
    ]
    return made


def naive(rule_list, documents, held) -> int:
    found = 0
    for rule in rule_list:
        if rule.kind == "entitlements":
            found += entitlement_conflict(rule, held, None) is not None
        else:
            pooled = [doc for entitlement in held for doc in documents[entitlement]]
            found += set(rule.actions) <= evaluate_actions(pooled, list(rule.actions)).allowed
    return found


def test_full_scan_of_100000_people_with_10_grants_each():
    rng = random.Random(20261128)
    documents = synthetic_documents(rng)
    rule_list = rules(rng)
    holdings = {person: set(rng.sample(range(ENTITLEMENTS), GRANTS_EACH)) for person in range(PEOPLE)}

    started = time.perf_counter()
    found = scan_holdings(holdings, rule_list, documents)
    elapsed = time.perf_counter() - started
    # Memory in a second run: tracing allocations slows Python down, so it is not timed.
    tracemalloc.start()
    scan_holdings(holdings, rule_list, documents)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    sample = list(holdings)[:BASELINE_SAMPLE]
    started = time.perf_counter()
    naive_found = sum(1 for person in sample if naive(rule_list, documents, holdings[person]))
    naive_elapsed = (time.perf_counter() - started) * PEOPLE / len(sample)

    in_sample = sum(1 for person in sample if person in found)
    assert in_sample == naive_found, "the fast scan and the naive one agree on the sample"
    print(
        f"\nSoD scan: {PEOPLE:,} people x {GRANTS_EACH} grants = {PEOPLE * GRANTS_EACH:,} grants, "
        f"{len(rule_list)} rules ({sum(r.kind == 'permissions' for r in rule_list)} on permissions), "
        f"{ENTITLEMENTS:,} entitlements"
    )
    print(
        f"  scan: {elapsed:.2f} s, peak memory of the scan {peak / 2**20:.1f} MiB (holdings themselves not "
        f"counted), {len(found):,} people in violation"
    )
    print(f"  naive baseline (pool documents per person; {len(sample):,} sampled, scaled): {naive_elapsed:.1f} s")
    print(f"  ratio naive/scan: {naive_elapsed / elapsed:.1f}x")
