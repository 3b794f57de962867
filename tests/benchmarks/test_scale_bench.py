"""Benchmark: every page and API list at a company's size (issue 21; docs/operations.md, "At a company's size").

`make bench-scale SCALE=0.01,1` fills PostgreSQL set-based (tests/benchmarks/scale_fill.py) at each size
in turn, signs in as each role (the cast of tests/conftest.py, who take part in the data: Alice has 8
requests, Bob approves for a team, Erin is a governance admin, Frank an auditor), and prints for every
page p50 and p95, the queries one request runs, the ratio to a bare view behind the same middleware
measured in the same run, and with two sizes the growth (big/small), the same without the machine's drift
between the sizes (over the bare view's own growth), and whether the queries stayed the same.
Each size is filled inside a savepoint rolled back afterwards. Django's test client, in process, DEBUG off.

To measure a new page, add a row to PAGES: who signs in, its path (`{campaign}` is the filled campaign's id;
`{leaver}`, `{grant}` and `{pack}` a leaver part-way through removal, a grant with its CloudTrail activity
and an evidence pack being built, from `fill_company`'s "ids").
BENCH_RUNS (15) sets the requests per page, BENCH_ONLY a part of the pages' names to measure only those.
"sql ms" is the time one request spends in the database (the rest is Python: the view, the template, the
middleware). BENCH_PROFILE=N profiles each page at the last size and prints its N costliest functions by
own time (BENCH_PROFILE_SORT=cumulative: with what they call): where a page's Python time goes.
"""

import contextlib
import cProfile
import io
import os
import pstats
import statistics
import time
from base64 import b64encode
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings, setup_test_environment, teardown_test_environment

from tests.benchmarks.scale_fill import fill_company

pytestmark = pytest.mark.postgres

SCALES = [float(value) for value in os.environ.get("BENCH_SCALE", "0.01").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", 15))
# Only the pages whose name contains one of these texts (`BENCH_ONLY=admin` or `BENCH_ONLY=queue,overview`).
ONLY = [part.strip().lower() for part in os.environ.get("BENCH_ONLY", "").split(",")]
# BENCH_INSTRUMENTED=1 measures with Django's test instrumentation of template rendering, as runs before
# 2026-12-06 did (see as_in_production).
INSTRUMENTED = bool(os.environ.get("BENCH_INSTRUMENTED"))
PROFILE = int(os.environ.get("BENCH_PROFILE", 0))
# BENCH_SQL=/reviews/campaigns/ prints each query (its ms and its start) of the pages whose path has that part.
SQL_OF = [part for part in os.environ.get("BENCH_SQL", "").split(",") if part]
PROFILE_SORT = os.environ.get("BENCH_PROFILE_SORT", "tottime")  # or cumulative: which of our functions cost most


@dataclass(frozen=True)
class Page:
    name: str
    who: str  # alice (employee), bob (approver), erin (governance admin), frank (auditor)
    path: str


PAGES = [
    Page("home (employee)", "alice", "/"),
    Page("catalog", "alice", "/catalog/"),
    Page("my access", "alice", "/access/"),
    Page("My requests", "alice", "/requests/"),
    Page("API requests", "alice", "/api/requests/"),
    Page("API catalog", "alice", "/api/catalog/"),
    Page("API grants (employee)", "alice", "/api/grants/"),
    Page("approver inbox", "bob", "/approvals/"),
    Page("API approvals", "bob", "/api/approvals/"),
    Page("home (approver)", "bob", "/"),
    Page("my reviews (reviewer)", "bob", "/reviews/"),
    Page("review queue (reviewer)", "bob", "/reviews/{campaign}/"),
    Page("home (admin)", "erin", "/"),
    Page("my reviews (admin)", "erin", "/reviews/"),
    Page("review queue, all lines (admin)", "erin", "/reviews/{campaign}/"),
    Page("campaigns", "erin", "/reviews/campaigns/"),
    Page("campaign overview", "erin", "/reviews/campaigns/{campaign}/"),
    Page("API review items", "erin", "/api/reviews/campaigns/{campaign}/items/"),
    # Keyset pages: the tenth page is the one after the 450th line, named by its cursor.
    Page("API review items, page 10", "erin", "/api/reviews/campaigns/{campaign}/items/?cursor={cursor10}"),
    Page("review queue, every line (admin)", "erin", "/reviews/{campaign}/?all=1"),
    Page("API campaigns", "erin", "/api/reviews/campaigns/"),
    Page("operations", "erin", "/operations/"),
    Page("people", "erin", "/people/"),
    Page("entitlements", "erin", "/entitlements/"),
    Page("API grants (admin)", "erin", "/api/grants/"),
    Page("audit log", "frank", "/audit/"),
    # A page half-way back through the trail, reached by its Older links (a position in the chain, no OFFSET).
    Page("audit log, half-way back", "frank", "/audit/?before={audit_middle}"),
    Page("review queue, all lines (auditor)", "frank", "/reviews/{campaign}/"),
    Page("admin: audit events", "erin", "/admin/audit/auditevent/"),
    Page("admin: grants", "erin", "/admin/access/grant/"),
    Page("admin: requests", "erin", "/admin/access/accessrequest/"),
    Page("admin: votes", "erin", "/admin/access/approvalassignment/"),
    Page("admin: people", "erin", "/admin/accounts/user/"),
    Page("admin: email addresses", "erin", "/admin/account/emailaddress/"),
    Page("admin: review lines", "erin", "/admin/reviews/reviewitem/"),
    Page("admin: entitlements", "erin", "/admin/catalog/entitlement/"),
    Page("admin: campaigns", "erin", "/admin/reviews/campaign/"),
    Page("AWS Organizations", "erin", "/operations/organization/"),
    Page("evidence pack", "erin", "/reviews/campaigns/{campaign}/evidence/{pack}/"),
    Page("leaver (removal chart)", "erin", "/people/{leaver}/"),
    Page("grant history (activity)", "erin", "/operations/grants/{grant}/"),
]
PAGES = [page for page in PAGES if any(part in page.name.lower() for part in ONLY)]
BARE = Page("bare view", "alice", "/bench/bare/")


@contextlib.contextmanager
def as_in_production():
    """Without Django's test instrumentation: under test every template render sends a signal the test
    client answers by copying the whole context (once per template, so once per include in a loop), work
    no production request does. Measured with it, a page of 50 lines with an include each paid for 50
    context copies the bare view never does. The test client still runs the whole middleware stack."""
    teardown_test_environment()
    try:
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            yield
    finally:
        setup_test_environment()


def one_request(client, path: str) -> tuple[int, int, float]:
    """The queries one request of `path` runs, its status and the ms it spent in the database (after two
    requests to warm up); with BENCH_SQL, each query printed."""
    for _ in range(2):
        response = client.get(path)
    queries: list[tuple[float, str]] = []

    def timed(execute, sql, *args):
        started = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            queries.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timed):
        response = client.get(path)
    if SQL_OF and any(part in path for part in SQL_OF):
        for ms, sql in queries:
            print(f"      {ms:6.2f} ms  {sql[:160]}")
    return len(queries), response.status_code, sum(ms for ms, _ in queries)


def timed_get(client, path: str) -> float:
    started = time.perf_counter()
    client.get(path)
    return (time.perf_counter() - started) * 1000


def p50_p95(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def profile(client, path: str, top: int) -> str:
    """The `top` functions by own time over RUNS requests of `path`."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(RUNS):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(PROFILE_SORT).print_stats(top)
    lines = out.getvalue().splitlines()
    calls = next(
        line.strip() for line in lines if "function calls" in line
    )  # "N function calls (M primitive) in S seconds"
    start = next(index for index, line in enumerate(lines) if line.strip().startswith("ncalls"))
    return "\n".join(
        ["      " + calls + f" over {RUNS} requests"] + ["      " + line for line in lines[start:] if line.strip()]
    )


def measure_pages(clients, campaign: int, ids: dict, profiling: bool) -> dict[str, tuple]:
    """Every page's figures by name (p50, p95, queries, status, sql ms); with BENCH_PROFILE and `profiling`,
    its profile.

    The requests are timed in RUNS rounds of one request of every page (and five of the bare view): this
    machine stalls now and then for seconds, and a page measured in one burst took a whole stall, or none,
    so its growth from one size to the other moved by half between runs of the same code. In rounds, a stall
    is spread over every page and is outvoted in each median."""
    pages = [BARE, *PAGES]
    paths = {page.name: page.path.format(campaign=campaign, **ids) for page in pages}
    counted = {page.name: one_request(clients[page.who], paths[page.name]) for page in pages}
    times: dict[str, list[float]] = {page.name: [] for page in pages}
    for _ in range(RUNS):
        for page in pages:
            for _ in range(5 if page is BARE else 1):
                times[page.name].append(timed_get(clients[page.who], paths[page.name]))
    results = {page.name: (*p50_p95(times[page.name]), *counted[page.name]) for page in pages}
    bare = results[BARE.name][0]  # the ratios' divisor: a steadier median, of five times the requests
    print(f"   {'page':36} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'sql ms':>7} {'x bare':>7} status")
    for page in pages:
        p50, p95, queries, status, sql = results[page.name]
        print(f"   {page.name:36} {p50:8.1f} {p95:8.1f} {queries:8d} {sql:7.1f} {p50 / bare:7.1f} {status}")
        if PROFILE and profiling:
            print(profile(clients[page.who], paths[page.name], PROFILE))
    return results


@pytest.mark.timeout(3600)  # a busy machine: the two sizes and 40 pages take minutes
@override_settings(ROOT_URLCONF="tests.benchmarks.scale_urls", DEBUG=False)
def test_every_page_at_a_company_size(cast, sandbox):
    clients = {}
    for who in ("alice", "bob", "erin", "frank"):
        clients[who] = Client()
        clients[who].force_login(getattr(cast, who))
    results: dict[float, dict[str, tuple]] = {}
    for scale in SCALES:
        with transaction.atomic():
            filled = fill_company(cast, scale)
            print(f"\n== scale {scale}: {filled['sizes']}")
            print(
                f"   filled in {filled['total']:.1f} s: "
                + ", ".join(f"{name} {seconds:.1f}" for name, seconds in filled["timings"].items())
            )
            from reviews.models import Campaign, ReviewItem

            campaign = Campaign.objects.filter(name="Quarterly review").latest("pk").pk
            lines = ReviewItem.objects.filter(campaign_id=campaign).order_by("pk").values_list("pk", flat=True)
            filled["ids"]["cursor10"] = quote(b64encode(f"p={lines[449]}".encode()).decode())
            from audit.models import AuditChainHead

            filled["ids"]["audit_middle"] = AuditChainHead.objects.get().last_seq // 2
            with contextlib.nullcontext() if INSTRUMENTED else as_in_production():
                results[scale] = measure_pages(clients, campaign, filled["ids"], profiling=scale == SCALES[-1])
            transaction.set_rollback(True)
    if len(SCALES) > 1:
        small, big = results[SCALES[0]], results[SCALES[-1]]
        # The sizes are measured minutes apart, and this machine's speed drifts by a third and more in that
        # time: the bare view, the same work at both sizes, measures the drift. The growth is printed as
        # measured, then with the drift taken out (the big size's time over the bare view's own growth).
        drift = big[BARE.name][0] / small[BARE.name][0]
        print(
            f"\n== growth from scale {SCALES[0]} to {SCALES[-1]} (p50 big / p50 small; then without the machine's"
            f" drift, the bare view's own {drift:.2f}x; queries small -> big)"
        )
        for page in PAGES:
            (p50_small, _, queries_small, *_), (p50_big, _, queries_big, *_) = small[page.name], big[page.name]
            flat = "flat" if p50_big <= max(1.5 * p50_small, p50_small + 5) else "GROWS"
            steady = "flat" if p50_big / drift <= max(1.5 * p50_small, p50_small + 5) else "GROWS"
            same = "same queries" if queries_small == queries_big else f"queries {queries_small} -> {queries_big}"
            growth = p50_big / p50_small
            print(f"   {page.name:36} {growth:6.2f}x  {flat:6} {growth / drift:6.2f}x  {steady:6} {same}")
