"""The admin's list of review lines writes its rows as every portal list does (audit.admin_rows): the same HTML
as Django's.

Alice's line names her and her grant; Mallory is an IAM user who is no portal person, whose unmanaged access
the campaign reviews too. Their names and the campaign's carry markup, which every cell escapes as Django does.
"""

from datetime import timedelta

import pytest
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from audit.admin_rows import result_list
from iam.models import UnmanagedAccess
from reviews.models import Campaign, ReviewItem


@pytest.fixture
def lines(cast, sandbox):
    """Alice's kept line in the second stage and Mallory's revoked unmanaged one, in a campaign named with markup."""
    campaign = Campaign.objects.create(
        name='Q4 <b>"review"</b> & more', owner=cast.erin, due_at=timezone.now() + timedelta(days=14)
    )
    cast.alice.full_name = "Alice <i>O'Neil</i> & Co"
    cast.alice.save(update_fields=["full_name"])
    grant = Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    now = timezone.now()
    mallory = UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind=sandbox.developers.kind,
        aws_principal="mallory<&>",
        aws_name=sandbox.developers.aws_name,
        entitlement=sandbox.developers,
        first_seen=now - timedelta(days=40),
        last_seen=now,
    )
    return [
        ReviewItem.objects.create(
            campaign=campaign,
            holder=cast.alice,
            grant=grant,
            entitlement=sandbox.developers,
            origin=ReviewItem.Origin.REQUEST,
            reviewer=cast.carol,
            reviewer_reason="owner",
            stage=ReviewItem.Stage.OWNER,
            first_decision=ReviewItem.Decision.KEEP,
            first_decided_by=cast.bob,
            recommendation=ReviewItem.Decision.KEEP,
        ),
        ReviewItem.objects.create(
            campaign=campaign,
            aws_principal="mallory<&>",
            unmanaged=mallory,
            entitlement=sandbox.developers,
            origin=ReviewItem.Origin.UNMANAGED,
            reviewer=cast.bob,
            reviewer_reason="manager",
            decision=ReviewItem.Decision.REVOKE,
            comment="Nobody knows Mallory",
            remediation=ReviewItem.Remediation.PENDING,
        ),
    ]


@pytest.mark.parametrize("filtered", [False, True], ids=["every line", "filtered"])
def test_the_review_lines_rows_are_djangos_own(client_for, cast, lines, filtered):
    query = f"?campaign__id__exact={lines[0].campaign_id}&stage=2" if filtered else ""
    response = client_for(cast.erin).get(reverse("admin:reviews_reviewitem_changelist") + query)
    changelist = response.context["cl"]

    written = [list(row) for row in result_list(changelist)["results"]]
    djangos = ["".join(items_for_result(changelist, line, None)) for line in changelist.result_list]

    assert response.status_code == 200
    assert len(djangos) == (1 if filtered else 2)
    assert written == [[row] for row in djangos]
    html = response.content.decode()
    assert all(f"<tr>{row}</tr>" in html for row in djangos)
    assert "Alice &lt;i&gt;O&#x27;Neil&lt;/i&gt; &amp; Co" in html
    assert ("_changelist_filters=" in djangos[0]) is filtered
    if not filtered:
        assert "mallory&lt;&amp;&gt;" in html
        assert '<td class="field-holder nowrap">-</td>' in html
