"""GET /metrics: Prometheus metrics, for a bearer token (PORTAL_METRICS_TOKEN) or allowed networks
(PORTAL_METRICS_ALLOWED_NETWORKS); with neither set the endpoint does not exist (404).

Besides django-prometheus's HTTP and database metrics and the workers' task runtimes
(portal/task_metrics.py), the portal's own gauges are computed when scraped. Each is one query on a
partial index that holds only the rows it counts, and counts stop at COUNT_CAP, so a scrape stays
cheap however large the tables or the backlog grow.
"""

import hmac
from collections.abc import Iterator
from datetime import datetime
from ipaddress import ip_address

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from access.models import Grant, waiting_since
from audit.context import client_address
from iam.models import UnmanagedAccess
from outbox import backlog
from outbox.outages import CACHE_ERRORS
from portal.health import heartbeat
from portal.task_metrics import registry
from reviews.models import Campaign, ReviewItem

# A gauge at the cap reads "at least this many": past it, a larger figure changes no decision.
COUNT_CAP = 1_000_000
# Active campaigns reported one by one (a label each); more are a sign of something else.
CAMPAIGNS_REPORTED = 50
WAITING = [Grant.SyncState.PENDING, Grant.SyncState.IN_PROGRESS]


def _capped_count(queryset: QuerySet) -> int:
    return queryset.order_by().values("pk")[:COUNT_CAP].count()


def _oldest_wait_seconds(now: datetime) -> float:
    """How long the longest-waiting grant has waited: since it was granted, ended, or created (the latest).
    One `ORDER BY waiting_since LIMIT 1` on the partial expression index grant_waiting_since: the first entry
    is the answer, however many grants wait (an aggregate would read every waiting row)."""
    waiting = Grant.objects.filter(sync_state__in=WAITING).annotate(waiting_since=waiting_since())
    oldest = waiting.order_by("waiting_since").values_list("waiting_since", flat=True).first()
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


class PortalCollector:
    """The portal's gauges, read from the database at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        yield GaugeMetricFamily(
            "portal_grants_waiting_to_sync",
            "Grants whose AWS state has not caught up with the ledger yet (pending or syncing).",
            value=_capped_count(Grant.objects.filter(sync_state__in=WAITING)),
        )
        yield GaugeMetricFamily(
            "portal_grant_sync_oldest_wait_seconds",
            "How long the longest-waiting grant has waited to sync (0: none waits).",
            value=_oldest_wait_seconds(now),
        )
        yield GaugeMetricFamily(
            "portal_grants_sync_failed",
            "Grants whose sync failed and waits for someone to retry it.",
            value=_capped_count(Grant.objects.filter(sync_state=Grant.SyncState.FAILED)),
        )
        yield GaugeMetricFamily(
            "portal_reconcile_drift_open",
            "Access AWS shows that the ledger does not hold (open unmanaged access found by reconciles).",
            value=_capped_count(UnmanagedAccess.objects.filter(state=UnmanagedAccess.State.OPEN)),
        )
        yield GaugeMetricFamily(
            "portal_outbox_waiting",
            "Tasks written to the outbox and not taken by the broker yet (the relay sends them).",
            value=backlog.waiting_count(COUNT_CAP),
        )
        yield GaugeMetricFamily(
            "portal_outbox_oldest_wait_seconds",
            "How long the oldest task in the outbox has waited for the broker (0: none waits).",
            value=backlog.oldest_age_seconds(now),
        )
        lines = GaugeMetricFamily(
            "portal_campaign_lines", "Lines of an active review campaign (fixed at launch).", labels=["campaign"]
        )
        undecided = GaugeMetricFamily(
            "portal_campaign_undecided_lines",
            "Lines of an active review campaign not decided yet.",
            labels=["campaign"],
        )
        campaigns = Campaign.objects.filter(state=Campaign.State.ACTIVE).order_by("-pk")[:CAMPAIGNS_REPORTED]
        for campaign_id, population in campaigns.values_list("pk", "population_count"):
            label = [str(campaign_id)]
            lines.add_metric(label, population)
            waiting = ReviewItem.objects.filter(campaign_id=campaign_id, decision=ReviewItem.Decision.UNDECIDED)
            undecided.add_metric(label, _capped_count(waiting))
        yield lines
        yield undecided
        yield from _beat_heartbeat()


def _beat_heartbeat() -> Iterator[GaugeMetricFamily]:
    """Seconds since beat's last heartbeat (portal/health/heartbeat.py). Not reported when there was none
    or the cache cannot be read: an absent series is what an alert on `absent()` looks for."""
    try:
        age = heartbeat.age_now()
    except CACHE_ERRORS:
        return
    if age is not None:
        yield GaugeMetricFamily(
            "portal_beat_heartbeat_age_seconds",
            "Seconds since beat's last heartbeat reached a worker (scheduled jobs stop when it grows).",
            value=age,
        )


def allowed(request: HttpRequest) -> bool:
    """The bearer token, compared in constant time, or a client address in an allowed network."""
    token = settings.METRICS_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
        return True
    address = client_address(request)
    if not address or not settings.METRICS_ALLOWED_NETWORKS:
        return False
    return any(ip_address(address) in network for network in settings.METRICS_ALLOWED_NETWORKS)


@login_not_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not (settings.METRICS_TOKEN or settings.METRICS_ALLOWED_NETWORKS):
        raise Http404("Metrics are off: set PORTAL_METRICS_TOKEN or PORTAL_METRICS_ALLOWED_NETWORKS.")
    if not allowed(request):
        raise PermissionDenied("Metrics need the bearer token or an address in PORTAL_METRICS_ALLOWED_NETWORKS.")
    portal = CollectorRegistry(auto_describe=False)
    portal.register(PortalCollector())
    return HttpResponse(generate_latest(registry()) + generate_latest(portal), content_type=CONTENT_TYPE_LATEST)
