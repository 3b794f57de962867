"""The posture pages: governance admins only, state changes by POST only, constant query counts."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posture.models import PostureFinding, PostureScan


def findings(account, count: int, person=None, **fields) -> None:
    PostureFinding.objects.bulk_create(
        PostureFinding(
            account=account,
            control_id=fields.get("control_id", "2.12"),
            principal=f"user{n}:access_key_1",
            severity=fields.get("severity", "medium"),
            evidence={"user": f"user{n}"},
            person=person,
            resolved_at=fields.get("resolved_at"),
        )
        for n in range(count)
    )


@pytest.fixture
def finding(sandbox, cast):
    return PostureFinding.objects.create(
        account=sandbox.account,
        control_id="portal.leaver_key",
        principal="dave",
        severity="high",
        evidence={"user": "dave"},
        person=cast.dave,
    )


def pages(sandbox, finding):
    return [
        reverse("posture:index"),
        reverse("posture:scorecard", args=[sandbox.account.pk]),
        reverse("posture:findings", args=[sandbox.account.pk]),
        reverse("posture:person", args=[finding.person_id]),
    ]


def test_governance_admin_sees_every_page(client_for, cast, sandbox, finding):
    client = client_for(cast.erin)
    for url in pages(sandbox, finding):
        assert client.get(url).status_code == 200, url


def test_non_admin_gets_403_on_every_page_and_action(client_for, cast, sandbox, finding):
    client = client_for(cast.alice)
    for url in pages(sandbox, finding):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("posture:scan_now", args=[sandbox.account.pk])).status_code == 403
    assert client.post(reverse("posture:deactivate_key", args=[finding.pk])).status_code == 403


def test_state_changes_refuse_get(client_for, cast, sandbox, finding):
    client = client_for(cast.erin)
    assert client.get(reverse("posture:scan_now", args=[sandbox.account.pk])).status_code == 405
    assert client.get(reverse("posture:deactivate_key", args=[finding.pk])).status_code == 405
    assert PostureScan.objects.count() == 0
    finding.refresh_from_db()
    assert finding.resolved_at is None


def test_scan_now_queues_a_scan_and_returns_to_the_scorecard(client_for, cast, sandbox):
    response = client_for(cast.erin).post(reverse("posture:scan_now", args=[sandbox.account.pk]))
    assert response.status_code == 302
    assert response.url == reverse("posture:scorecard", args=[sandbox.account.pk])


def test_findings_page_runs_the_same_queries_for_10_and_1000_findings(client_for, cast, sandbox):
    client = client_for(cast.erin)
    url = reverse("posture:findings", args=[sandbox.account.pk])

    def queries_with(count: int) -> int:
        PostureFinding.objects.all().delete()
        findings(sandbox.account, count, person=cast.alice)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    assert queries_with(10) == queries_with(1000)


def test_findings_are_filtered_by_control_severity_and_state(client_for, cast, sandbox):
    findings(sandbox.account, 3, control_id="2.10", severity="high")
    findings(sandbox.account, 2, control_id="2.12", severity="medium", resolved_at=timezone.now())
    client = client_for(cast.erin)
    url = reverse("posture:findings", args=[sandbox.account.pk])

    def shown(**query) -> int:
        return len(client.get(url, query).context["page"].object_list)

    assert shown() == 3
    assert shown(state="resolved") == 2
    assert shown(state="all") == 5
    assert shown(state="all", control="2.12") == 2
    assert shown(state="all", severity="high") == 3


def test_findings_export_as_csv_with_the_filters_applied(client_for, cast, sandbox):
    findings(sandbox.account, 4, control_id="2.10", severity="high", person=cast.alice)
    findings(sandbox.account, 1, control_id="2.12")
    url = reverse("posture:findings", args=[sandbox.account.pk])
    response = client_for(cast.erin).get(url, {"control": "2.10", "format": "csv"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 4
    assert {row["control_id"] for row in rows} == {"2.10"}
    assert rows[0]["person"] == "alice@example.com"


def test_scorecard_draws_the_trend_from_embedded_json_without_inline_script(client_for, cast, sandbox):
    for passed in (5, 7):
        PostureScan.objects.create(
            account=sandbox.account,
            status="succeeded",
            finished_at=timezone.now(),
            controls_passed=passed,
            controls_failed=10 - passed,
        )
    findings(sandbox.account, 2, control_id="2.10", severity="high")
    html = client_for(cast.erin).get(reverse("posture:scorecard", args=[sandbox.account.pk])).content.decode()
    assert 'id="posture-data"' in html and "posture/posture-chart.js" in html
    assert "<script>" not in html.replace('<script id="posture-data" type="application/json">', "")
    assert "2 open" in html


def test_a_persons_page_lists_the_findings_mapped_to_them(client_for, cast, sandbox, finding):
    findings(sandbox.account, 2, person=cast.alice)
    response = client_for(cast.erin).get(reverse("posture:person", args=[cast.dave.pk]))
    assert [row.pk for row in response.context["page"]] == [finding.pk]
