"""What the security tests share: one of everything a URL can point at."""

import pytest
from django.utils import timezone

from access import services
from access.models import BreakGlassEligibility, Grant
from accounts.models import ApiToken
from accounts.tokens import issue_token
from audit.models import AuditEvent
from iam.models import ImportRun, UnmanagedAccess
from posture.models import PostureFinding
from reviews import services as review_services
from reviews.models import Campaign
from reviews.services import evidence_packs
from sod.models import SodRule

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def world(cast, sandbox):
    """One of everything a URL can point at, visible to Alice where a person owns it."""
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    readonly = sandbox.developers.__class__.objects.create(
        account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low", max_duration_days=30
    )
    readonly.owners.set([cast.carol])
    held = services.submit_request(
        requester=cast.alice, entitlement=readonly, justification=GOOD_REASON, duration_days=7
    )
    services.approve(request_id=held.pk, actor=cast.bob)
    grant = Grant.objects.get(user=cast.alice, entitlement=readonly)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + timezone.timedelta(days=7))
    BreakGlassEligibility.objects.create(entitlement=sandbox.developers, person=cast.alice)
    rule = SodRule.objects.create(name="Rule", why="why", owner=cast.dave)
    now = timezone.now()
    drift = UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind="iam_group",
        aws_principal="mallory",
        aws_name="Developers",
        first_seen=now,
        last_seen=now,
    )
    campaign = Campaign.objects.create(
        name="Q4",
        owner=cast.erin,
        reviewer_type="owner",
        fallback_reviewer=cast.dave,
        due_at=now + timezone.timedelta(days=14),
    )
    review_services.launch(campaign_id=campaign.pk, actor=cast.erin)
    pack, _ = evidence_packs.request_pack(campaign_id=campaign.pk, fmt="csv", actor=cast.erin)
    evidence_packs.build_pack(pack.pk)  # built, as a worker would
    finding = PostureFinding.objects.create(
        account=sandbox.account, control_id="2.10", principal="alice", severity="high", person=cast.alice
    )
    issue_token(person=cast.alice, name="laptop", second_factor=False)
    import_run = ImportRun.objects.create(account=sandbox.account, requested_by=cast.erin, steps_total=4)
    ids = {
        "token_id": ApiToken.objects.get(user=cast.alice).pk,
        "finding_id": finding.pk,
        "person_id": cast.alice.pk,
        "campaign_id": campaign.pk,
        "pack_id": pack.pk,
        "item_id": campaign.items.first().pk,
        "entitlement_id": sandbox.developers.pk,
        "grant_id": grant.pk,
        "request_id": access_request.pk,
        "account_id": sandbox.account.pk,
        "unmanaged_id": drift.pk,
        "run_id": import_run.pk,
        "event_id": AuditEvent.objects.order_by("seq").first().pk,
        "rule_id": rule.pk,
    }
    by_name = {
        "api:catalog-detail": sandbox.developers.pk,
        "api:request-detail": access_request.pk,
        "api:request-approve": access_request.pk,
        "api:request-cancel": access_request.pk,
        "api:request-deny": access_request.pk,
        "api:break-glass-review-confirm": access_request.pk,
        "api:break-glass-review-revoke": access_request.pk,
        "api:grant-extend": grant.pk,
        "api:grant-give-back": grant.pk,
        "api:person-leaver": cast.alice.pk,
        "api:review-campaign-detail": campaign.pk,
        "mfa_remove_webauthn": 987654,  # nobody's key: every signed-in role is asked to re-authenticate first
        "mfa_edit_webauthn": 987654,
        "api:sod-rule-detail": rule.pk,
        "api:review-campaign-items": campaign.pk,
        "api:review-campaign-decide": campaign.pk,
        "api:review-campaign-accept-recommendations": campaign.pk,
        "api:review-campaign-launch": campaign.pk,
        "api:review-campaign-preview": campaign.pk,
    }
    return ids, by_name
