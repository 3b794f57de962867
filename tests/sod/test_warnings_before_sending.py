"""Requesters see a separation-of-duties conflict on the request form and at checkout before they send,
with what to do next: the same judgement submission makes (sod.check_many), only in advance.

Alice holds Create payments and asks for Approve payments; the rule "Create and approve payments" is
Dave's (tests/sod/conftest.py).
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from access.models import Grant
from access.services.sod_checks import findings_before_sending, notices_for
from catalog.models import Entitlement
from sod.models import SodException, SodRule


def holding(person, entitlement):
    Grant.objects.create(user=person, entitlement=entitlement, source=Grant.Source.ADMIN)


def request_page(client_for, cast, entitlement) -> str:
    return client_for(cast.alice).get(reverse("access:request_new", args=[entitlement.pk])).content.decode()


def test_a_block_rule_is_shown_before_sending_with_what_to_do(client_for, cast, payments, payments_rule):
    payments_rule()
    holding(cast.alice, payments["PaymentsCreate"])

    page = request_page(client_for, cast, payments["PaymentsApprove"])

    assert "Approve payments can't be requested while you hold Create payments" in page
    assert "one person could pay themselves" in page
    assert "give back Create payments on" in page and "talk to Dave Othermanager, who owns the rule" in page
    assert "the request will be refused" in page


def test_an_exception_rule_is_shown_with_the_owners_extra_stage(client_for, cast, payments, payments_rule):
    payments_rule(SodRule.Enforcement.EXCEPTION)
    holding(cast.alice, payments["PaymentsCreate"])

    page = request_page(client_for, cast, payments["PaymentsApprove"])

    assert "Approve payments will need an exception" in page
    assert "Create payments, which you hold" in page
    assert "Dave Othermanager, who owns the rule, decides whether to allow an exception" in page
    # The approval chain shown is the one submission will store, the rule owner's stage included.
    assert "Separation of duties: Create and approve payments" in page


def test_an_exception_that_already_covers_it_is_said_so(client_for, cast, payments, payments_rule):
    rule = payments_rule(SodRule.Enforcement.EXCEPTION)
    holding(cast.alice, payments["PaymentsCreate"])
    SodException.objects.create(
        rule=rule,
        user=cast.alice,
        mitigating_control="Monthly reconciliation",
        ends_at=timezone.now() + timedelta(days=30),
        approved_by=cast.dave,
    )

    page = request_page(client_for, cast, payments["PaymentsApprove"])

    assert "Covered by your exception to “Create and approve payments”" in page
    assert "will need an exception" not in page


def test_nothing_is_shown_without_a_conflict_or_for_a_disabled_rule(client_for, cast, payments, payments_rule):
    rule = payments_rule()
    assert "sod-notice" not in request_page(client_for, cast, payments["PaymentsApprove"])
    holding(cast.alice, payments["PaymentsCreate"])
    SodRule.objects.filter(pk=rule.pk).update(enabled=False)

    assert "sod-notice" not in request_page(client_for, cast, payments["PaymentsApprove"])


def test_a_cart_holding_both_sides_says_so_at_checkout(client_for, cast, payments, payments_rule):
    payments_rule()
    alice = client_for(cast.alice)
    for entitlement in payments.values():
        alice.post(reverse("access:cart_add", args=[entitlement.pk]))

    page = alice.get(reverse("access:checkout")).content.decode()

    assert "Create payments can't be requested together with Approve payments" in page
    assert "remove Approve payments or Create payments from this request" in page


def test_the_check_costs_the_same_queries_for_two_entitlements_or_twelve(
    cast, sandbox, payments, payments_rule, django_assert_max_num_queries
):
    rule = payments_rule(SodRule.Enforcement.EXCEPTION)
    holding(cast.alice, payments["PaymentsCreate"])
    more = [
        Entitlement.objects.create(account=sandbox.account, aws_name=f"More{n}", name=f"More {n}", risk="low")
        for n in range(10)
    ]
    rule.set_a.add(*more)

    def judged(entitlements):
        findings = findings_before_sending(cast.alice, entitlements)
        return notices_for(findings, entitlements, cast.alice)

    with django_assert_max_num_queries(9):
        assert len(judged([payments["PaymentsApprove"]])[payments["PaymentsApprove"].pk]) == 1
    with django_assert_max_num_queries(9):
        notices = judged([payments["PaymentsApprove"], *more])
    assert all(len(found) == 1 for found in notices.values())
