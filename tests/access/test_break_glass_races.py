"""Break glass at the same moment as something else: one outcome, the loser told 409, never a 500.

As in test_races.py, each case runs two calls in threads released by a barrier, each on its own database
connection, for ROUNDS rounds with a fresh on-call engineer each round (reporting to Bob; Carol owns
Production admin, so both review each break glass).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import AccessRequest, Approval, Grant
from access.services import break_glass as glass
from access.services.grants import expire_grants
from audit.models import AuditEvent
from inputs.refusals import Duplicate, StaleState
from tests.access.test_races import ROUNDS, Unexpected, race

REASON = "Payments API is down (P1); restarting the stuck ECS tasks by hand"


@pytest.fixture
def unexpected():
    return Unexpected()


@pytest.fixture
def on_call(cast, production_admin, django_user_model):
    """A new engineer reporting to Bob, allowed to break glass for Production admin; one per round."""
    made = iter(range(1, 1000))

    def make():
        number = next(made)
        person = django_user_model.objects.create_user(
            email=f"oncall{number}@example.com", password=None, full_name=f"On call {number}", manager=cast.bob
        )
        glass.set_eligibility(
            entitlement_id=production_admin.pk, actor=cast.erin, person_ids=[person.pk], departments=[]
        )
        return person

    return make


def breaks_glass(person, entitlement):
    return glass.break_glass(
        requester=person,
        entitlement_id=entitlement.pk,
        reason=REASON,
        ticket="INC42",
        duration_hours=1,
        recent_mfa=True,
    )


@pytest.mark.django_db(transaction=True)
def test_the_review_decided_twice_at_once_has_one_decision_and_the_other_is_told_409(
    cast, production_admin, on_call, unexpected
):
    wrong = []
    for number in range(ROUNDS):
        broken = breaks_glass(on_call(), production_admin)
        confirm_first = number % 2 == 0
        first, second = race(
            lambda pk=broken.pk, yes=confirm_first: glass.decide_review(request_id=pk, actor=cast.bob, confirm=yes),
            lambda pk=broken.pk, yes=confirm_first: glass.decide_review(
                request_id=pk, actor=cast.carol, confirm=not yes
            ),
            unexpected,
        )
        review = Approval.objects.get(request=broken, kind=Approval.Kind.REVIEW)
        winners = [outcome for outcome in (first, second) if outcome.ok]
        losers = [outcome for outcome in (first, second) if isinstance(outcome.error, StaleState)]
        grant = Grant.objects.get(request=broken)
        revoked = review.state == Approval.State.DENIED
        decided = AuditEvent.objects.filter(
            action__in=["breakglass.confirmed", "breakglass.revoked"], after__request=broken.pk
        ).count()
        ended = grant.desired == Grant.Desired.ABSENT
        if len(winners) != 1 or len(losers) != 1 or decided != 1 or ended != revoked:
            wrong.append((first.error, second.error, review.state, grant.desired))
    unexpected.check(wrong=wrong)


@pytest.mark.django_db(transaction=True)
def test_breaking_glass_twice_at_once_grants_once(cast, production_admin, on_call, unexpected):
    wrong = []
    for _ in range(ROUNDS):
        person = on_call()
        first, second = race(
            lambda person=person: breaks_glass(person, production_admin),
            lambda person=person: breaks_glass(person, production_admin),
            unexpected,
        )
        made = AccessRequest.objects.filter(beneficiary=person, break_glass=True).count()
        refused = [outcome for outcome in (first, second) if isinstance(outcome.error, Duplicate)]
        if made != 1 or len(refused) != 1:
            wrong.append((first.error, second.error, made))
    unexpected.check(wrong=wrong)


@pytest.mark.django_db(transaction=True)
def test_revoking_while_the_grant_expires_ends_it_once(cast, production_admin, on_call, unexpected):
    wrong = []
    for _ in range(ROUNDS):
        broken = breaks_glass(on_call(), production_admin)
        grant = Grant.objects.get(request=broken)
        Grant.objects.filter(pk=grant.pk).update(
            sync_state=Grant.SyncState.APPLIED, activated_at=timezone.now(), expires_at=timezone.now()
        )
        revoked, _ = race(
            lambda broken=broken: glass.decide_review(request_id=broken.pk, actor=cast.bob, confirm=False),
            lambda: expire_grants(now=timezone.now() + timedelta(seconds=1)),
            unexpected,
        )
        grant.refresh_from_db()
        endings = AuditEvent.objects.filter(
            action__in=["grant.expired", "grant.break_glass_revoked"], object_id=str(grant.pk)
        ).count()
        review = Approval.objects.get(request=broken, kind=Approval.Kind.REVIEW)
        if not revoked.ok or endings != 1 or grant.desired != Grant.Desired.ABSENT or review.state != "denied":
            wrong.append((revoked.error, endings, grant.desired, review.state))
    unexpected.check(wrong=wrong)
