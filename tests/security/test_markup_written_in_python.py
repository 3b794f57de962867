"""The busiest pages write their rows in Python rather than through template loops (issue 21): the inbox,
My requests, people, entitlements, operations, the review queue, the campaign page and the audit log. There
no template escapes for them, so each value a person or AWS gave must be escaped where it is written. Every
name, title, department, justification and comment below carries markup; each page must show it, as text.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access import services as access_services
from access.models import Grant
from catalog.models import Entitlement
from reviews import services as review_services
from reviews.models import Campaign

MARKUP = '"><script>alert(1)</script>'
AS_TEXT = "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def hostile(cast, sandbox):
    """Alice, Bob, the entitlements, the sandbox account and a campaign, all named with markup; Bob revokes
    Alice's Developers with markup in his comment, and she asks for Analysts with markup in her reason."""
    for person in (cast.alice, cast.bob):
        person.full_name = f"{person.full_name} {MARKUP}"
        person.title = f"Engineer {MARKUP}"
        person.department = f"Engineering {MARKUP}"
        person.save(update_fields=["full_name", "title", "department"])
    sandbox.developers.name = f"Developers {MARKUP}"
    sandbox.developers.save(update_fields=["name"])
    sandbox.account.name = f"Sandbox {MARKUP}"
    sandbox.account.save(update_fields=["name"])
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    campaign = Campaign.objects.create(
        name=f"Q4 {MARKUP}",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        departments=[cast.alice.department],
        due_at=timezone.now() + timedelta(days=14),
    )
    campaign = review_services.launch(campaign_id=campaign.pk, actor=cast.erin)
    line = campaign.items.get(reviewer=cast.bob, entitlement=sandbox.developers)
    review_services.decide(
        campaign_id=campaign.pk, item_ids=[line.pk], actor=cast.bob, decision="revoke", comment=f"Left {MARKUP}"
    )
    analysts = Entitlement.objects.create(
        account=sandbox.account, aws_name="Analysts", name=f"Analysts {MARKUP}", risk=Entitlement.Risk.LOW
    )
    access_services.submit_request(requester=cast.alice, entitlement=analysts, justification=f"Billing {MARKUP}")
    return campaign


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("bob", "access:inbox"),
        ("alice", "access:my_requests"),
        ("erin", "access:people"),
        ("erin", "access:entitlements"),
        ("erin", "iam:operations"),
        ("bob", "reviews:queue"),
        ("erin", "reviews:queue"),
        ("erin", "reviews:campaign"),
        ("frank", "audit:events"),
    ],
)
def test_every_page_written_in_python_shows_markup_as_text(client_for, cast, hostile, who, page):
    args = [hostile.pk] if page.startswith("reviews:") else []
    response = client_for(getattr(cast, who)).get(reverse(page, args=args))

    assert response.status_code == 200
    html = response.content.decode()
    assert MARKUP not in html
    assert "<script>alert(1)" not in html
    assert AS_TEXT in html, "the page shows none of the values it is meant to escape"
