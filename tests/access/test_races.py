"""Two changes at the same moment: no separation-of-duties rule evaded, no deadlock, no 500.

Each case runs a pair of service calls in two threads, released together by a barrier, each on its
own database connection, for ROUNDS rounds (a fresh person every round). Every refusal must be a
typed Refusal (409 "someone else changed this" included); anything else, a deadlock above all,
fails the test. Payments: Create payments and Approve payments are low-risk groups; the `block`
rule "Create and approve payments" forbids holding both.
"""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from access import services
from access.models import AccessRequest, Grant
from access.services.sync_batches import GrantWork
from accounts.models import ApiToken
from accounts.services import mark_leaver
from accounts.tokens import TokenError, issue_token
from catalog.models import ApprovalPolicy, ApprovalStage, Entitlement
from inputs.refusals import Refusal, StaleState
from reviews import services as reviews
from reviews.models import Campaign, ReviewItem
from sod.models import SodRule

ROUNDS = 20
REASON = "Paying the quarterly supplier invoices"


class Outcome:
    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    @property
    def ok(self) -> bool:
        return self.error is None


class Unexpected(list):
    """Errors that are not typed refusals, across a test's rounds: asserted empty at its end."""

    def check(self, **problems) -> None:
        """No unexpected error, and each count or list of problems (named) empty, reported together."""
        kinds = sorted({str(error).splitlines()[0] for error in self})
        found = {name: value for name, value in problems.items() if value}
        assert not self and not found, f"in {ROUNDS} rounds: {len(self)} unexpected errors {kinds}; {found}"


@pytest.fixture
def unexpected():
    return Unexpected()


def race(first, second, unexpected: Unexpected) -> tuple[Outcome, Outcome]:
    """Run both callables at once, each in its own thread and database connection."""
    barrier = threading.Barrier(2)
    outcomes: list[Outcome | None] = [None, None]

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = Outcome(value=call())
        except Refusal as exc:  # a typed refusal: what a page or the API shows with its status
            outcomes[index] = Outcome(error=exc)
        except Exception as exc:  # a deadlock, a 500: the test fails with it
            outcomes[index] = Outcome(error=exc)
            outcomes[index].unexpected = True
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(outcome is not None for outcome in outcomes), "a thread did not finish"
    unexpected += [outcome.error for outcome in outcomes if getattr(outcome, "unexpected", False)]
    return outcomes[0], outcomes[1]


@pytest.fixture
def payments(cast, sandbox):
    made = {}
    for aws_name, name in [("PaymentsCreate", "Create payments"), ("PaymentsApprove", "Approve payments")]:
        made[aws_name] = Entitlement.objects.create(account=sandbox.account, aws_name=aws_name, name=name, risk="low")
        made[aws_name].owners.set([cast.carol])
    rule = SodRule.objects.create(
        name="Create and approve payments", why="one person could pay themselves", owner=cast.dave
    )
    rule.set_a.set([made["PaymentsCreate"]])
    rule.set_b.set([made["PaymentsApprove"]])
    return made["PaymentsCreate"], made["PaymentsApprove"]


@pytest.fixture
def automatic():
    """Make an entitlement approved automatically on submission (low risk, a policy that says so)."""
    policy = ApprovalPolicy.objects.create(name="Approved automatically", auto_approve=True)
    ApprovalStage.objects.create(policy=policy, order=1, approvers=ApprovalStage.Approvers.MANAGER)

    def make(entitlement):
        entitlement.approval_policy = policy
        entitlement.save(update_fields=["approval_policy"])

    return make


@pytest.fixture
def newcomer(cast, django_user_model):
    """A new engineer reporting to Bob, one per round."""
    made = iter(range(1, 1000))

    def make():
        number = next(made)
        return django_user_model.objects.create_user(
            email=f"engineer{number}@example.com", password=None, full_name=f"Engineer {number}", manager=cast.bob
        )

    return make


def holds_both(person, first, second) -> bool:
    present = Grant.objects.filter(user=person, desired=Grant.Desired.PRESENT, entitlement__in=[first, second])
    return present.count() == 2


def holds(person, entitlement, **fields) -> Grant:
    """Access the person already has (applied in AWS unless said otherwise)."""
    values = {"source": Grant.Source.ADMIN, "granted_at": timezone.now(), "sync_state": Grant.SyncState.APPLIED}
    return Grant.objects.create(user=person, entitlement=entitlement, **(values | fields))


def ask(person, entitlement, **extra):
    return services.submit_request(requester=person, entitlement=entitlement, justification=REASON, **extra)


@pytest.mark.django_db(transaction=True)
def test_a_submission_approved_automatically_and_an_approval_never_both_break_a_block_rule(
    cast, payments, automatic, newcomer, unexpected
):
    create, approve_payments = payments
    automatic(approve_payments)
    violations = 0
    for _ in range(ROUNDS):
        person = newcomer()
        pending = ask(person, create)
        race(
            lambda pending=pending: services.approve(request_id=pending.pk, actor=cast.bob),
            lambda person=person: ask(person, approve_payments),
            unexpected,
        )
        violations += holds_both(person, create, approve_payments)
    unexpected.check(people_holding_both=violations)


@pytest.mark.django_db(transaction=True)
def test_two_approvals_of_conflicting_requests_never_both_complete(cast, payments, newcomer, unexpected):
    create, approve_payments = payments
    violations = 0
    for _ in range(ROUNDS):
        person = newcomer()
        one, other = ask(person, create), ask(person, approve_payments)
        race(
            lambda one=one: services.approve(request_id=one.pk, actor=cast.bob),
            lambda other=other: services.approve(request_id=other.pk, actor=cast.bob),
            unexpected,
        )
        violations += holds_both(person, create, approve_payments)
    unexpected.check(people_holding_both=violations)


@pytest.mark.django_db(transaction=True)
def test_two_submissions_approved_automatically_never_both_break_a_block_rule(
    payments, automatic, newcomer, unexpected
):
    create, approve_payments = payments
    automatic(create)
    automatic(approve_payments)
    violations = 0
    for _ in range(ROUNDS):
        person = newcomer()
        race(lambda person=person: ask(person, create), lambda person=person: ask(person, approve_payments), unexpected)
        violations += holds_both(person, create, approve_payments)
    unexpected.check(people_holding_both=violations)


@pytest.mark.django_db(transaction=True)
def test_approving_while_the_requester_cancels_ends_one_way_only(cast, sandbox, newcomer, unexpected):
    wrong = []
    for _ in range(ROUNDS):
        person = newcomer()
        pending = ask(person, sandbox.developers)
        approved, cancelled = race(
            lambda pending=pending: services.approve(request_id=pending.pk, actor=cast.bob),
            lambda pending=pending, person=person: services.cancel_request(request_id=pending.pk, actor=person),
            unexpected,
        )
        state = AccessRequest.objects.get(pk=pending.pk).state
        granted = Grant.objects.filter(user=person, desired=Grant.Desired.PRESENT).exists()
        expected = ("approved", True) if approved.ok else ("cancelled", False)
        loser = cancelled if approved.ok else approved
        if approved.ok == cancelled.ok or not isinstance(loser.error, StaleState) or (state, granted) != expected:
            wrong.append((approved.error, cancelled.error, state, granted))
    unexpected.check(wrong=wrong)


@pytest.mark.django_db(transaction=True)
def test_approving_while_the_worker_records_a_sync_of_the_same_person(cast, sandbox, payments, newcomer, unexpected):
    create, _ = payments
    wrong = []
    for _ in range(ROUNDS):
        person = newcomer()
        # Claimed by the worker, which now records what AWS read back. Never left pending here: a worker
        # already running (a full run starts one) would take it in a batch with an earlier round's grant.
        claim = uuid.uuid4()
        grant = holds(
            person,
            sandbox.developers,
            sync_state=Grant.SyncState.IN_PROGRESS,
            sync_claim=claim,
            claimed_at=timezone.now(),
            sync_attempts=1,
        )
        developers = sandbox.developers
        work = GrantWork(grant.pk, claim, grant.desired, person.pk, developers.pk, 1, person, developers)
        second = ask(person, create)

        def sync(work=work):
            return services.record_sync_success(work, evidence="read back: member")

        approved, synced = race(
            lambda second=second: services.approve(request_id=second.pk, actor=cast.bob), sync, unexpected
        )
        applied = Grant.objects.get(pk=grant.pk).sync_state == Grant.SyncState.APPLIED
        granted = Grant.objects.filter(user=person, entitlement=create, desired=Grant.Desired.PRESENT).exists()
        if not (approved.ok and synced.ok and synced.value and applied and granted):
            wrong.append((approved.error, synced.error, applied, granted))
    unexpected.check(wrong=wrong)


def extendable(sandbox, unit: str) -> tuple[Entitlement, str]:
    """An entitlement held for a term in `unit` (days or hours) and extendable to four terms; the term's field."""
    if unit == "days":
        sandbox.developers.max_duration_days = 28
        sandbox.developers.save(update_fields=["max_duration_days"])
        return sandbox.developers, "duration_days"
    elevated = Entitlement.objects.create(
        account=sandbox.account,
        aws_name="ProdAdmin",
        name="Production admin",
        risk="low",
        duration_unit=Entitlement.DurationUnit.HOURS,
        min_duration=1,
        max_duration_hours=28,
    )
    return elevated, "duration_hours"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("unit", ["days", "hours"])
def test_approving_an_extension_while_the_grant_expires_never_extends_ended_access(
    cast, sandbox, newcomer, unexpected, unit
):
    entitlement, field = extendable(sandbox, unit)
    term = timedelta(**{unit: 7})
    wrong = []
    for _ in range(ROUNDS):
        person = newcomer()
        now = timezone.now()
        grant = holds(person, entitlement, **{field: 7}, activated_at=now - term, expires_at=now)
        extension = services.request_extension(requester=person, grant_id=grant.pk, **{field: 7}, justification=REASON)

        approved, _ = race(
            lambda extension=extension: services.approve(request_id=extension.pk, actor=cast.bob),
            lambda: services.expire_grants(now=timezone.now() + timedelta(seconds=1)),
            unexpected,
        )
        grant.refresh_from_db()
        extended = AccessRequest.objects.get(pk=extension.pk).state == AccessRequest.State.APPROVED
        if grant.desired == Grant.Desired.ABSENT:
            ok = not extended and isinstance(approved.error, StaleState)  # an ended grant is never extended
        else:
            # Added to the end, or to the approval's instant should the end have just passed.
            ok = extended and now + term <= grant.expires_at <= timezone.now() + term
        if not ok:
            wrong.append((approved.error, grant.desired, extended))
    unexpected.check(wrong=wrong)


@pytest.mark.django_db(transaction=True)
def test_signing_off_while_a_reviewer_decides_loses_no_decision(cast, sandbox, newcomer, unexpected):
    wrong = []
    for number in range(ROUNDS):
        person = newcomer()
        entitlement = Entitlement.objects.create(
            account=sandbox.account, aws_name=f"Reviewed{number}", name=f"Reviewed {number}", risk="low"
        )
        grant = holds(person, entitlement)
        campaign = Campaign.objects.create(
            name=f"Review {number}",
            owner=cast.erin,
            fallback_reviewer=cast.dave,
            due_at=timezone.now() + timedelta(days=14),
        )
        campaign.entitlements.set([entitlement])
        reviews.launch(campaign_id=campaign.pk, actor=cast.erin)
        item = ReviewItem.objects.get(campaign=campaign)
        assert item.reviewer == cast.bob

        decided, signed = race(
            lambda campaign=campaign, item=item: reviews.decide(
                campaign_id=campaign.pk, item_ids=[item.pk], actor=cast.bob, decision="revoke", comment="Not needed"
            ),
            lambda campaign=campaign: reviews.sign_off(campaign_id=campaign.pk, actor=cast.erin),
            unexpected,
        )
        item.refresh_from_db()
        grant.refresh_from_db()
        if decided.ok:  # decided before the sign-off: the revocation was carried out
            ok = signed.ok and item.decision == "revoke" and grant.desired == Grant.Desired.ABSENT
        else:
            ok = isinstance(decided.error, StaleState) and item.decision == "keep"
            ok = ok and grant.desired == Grant.Desired.PRESENT
        if not ok:
            wrong.append((decided.error, signed.error, item.decision, grant.desired))
    unexpected.check(wrong=wrong)


@pytest.mark.django_db(transaction=True)
def test_an_admin_grant_and_a_submission_approved_automatically_never_both_break_a_block_rule(
    cast, payments, automatic, newcomer, unexpected
):
    create, approve_payments = payments
    automatic(approve_payments)
    violations = 0
    for _ in range(ROUNDS):
        person = newcomer()
        race(
            lambda person=person: services.grant_by_admin(
                actor=cast.erin, user=person, entitlement=create, justification=REASON
            ),
            lambda person=person: ask(person, approve_payments),
            unexpected,
        )
        violations += holds_both(person, create, approve_payments)
    unexpected.check(people_holding_both=violations)


@pytest.mark.django_db(transaction=True)
def test_marking_a_leaver_while_their_request_is_approved_leaves_them_nothing(cast, sandbox, newcomer, unexpected):
    still_holding = 0
    for _ in range(ROUNDS):
        person = newcomer()
        pending = ask(person, sandbox.developers)
        race(
            lambda pending=pending: services.approve(request_id=pending.pk, actor=cast.bob),
            lambda person=person: mark_leaver(person=person, actor=cast.erin),
            unexpected,
        )
        still_holding += Grant.objects.filter(user=person, desired=Grant.Desired.PRESENT).exists()
    unexpected.check(leavers_still_holding_access=still_holding)


@pytest.mark.django_db(transaction=True)
def test_issuing_a_token_while_the_person_is_marked_a_leaver_leaves_no_token(cast, newcomer, unexpected):
    left_with_a_token = 0
    for _ in range(ROUNDS):
        person = newcomer()

        def issue(person=person):
            try:
                return issue_token(person=person, name="laptop", second_factor=False)
            except TokenError as refusal:  # a typed refusal (403): the leaver came first
                return refusal

        race(issue, lambda person=person: mark_leaver(person=person, actor=cast.erin), unexpected)
        left_with_a_token += ApiToken.objects.filter(user=person).exists()
    unexpected.check(leavers_with_a_token=left_with_a_token)
