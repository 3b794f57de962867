"""Rules and entitlements for the separation-of-duties tests.

Payments: Create payments and Approve payments are low-risk groups Bob (the manager) approves;
the rule "Create and approve payments" forbids holding both. Dave owns the rule.
"""

import pytest

from catalog.models import Entitlement
from sod.models import SodRule


@pytest.fixture
def payments(cast, sandbox):
    made = {}
    for aws_name, name in [("PaymentsCreate", "Create payments"), ("PaymentsApprove", "Approve payments")]:
        made[aws_name] = Entitlement.objects.create(account=sandbox.account, aws_name=aws_name, name=name, risk="low")
        made[aws_name].owners.set([cast.carol])
    return made


@pytest.fixture
def payments_rule(cast, payments):
    def build(enforcement=SodRule.Enforcement.BLOCK):
        rule = SodRule.objects.create(
            name="Create and approve payments",
            why="one person could pay themselves",
            owner=cast.dave,
            enforcement=enforcement,
        )
        rule.set_a.set([payments["PaymentsCreate"]])
        rule.set_b.set([payments["PaymentsApprove"]])
        return rule

    return build
