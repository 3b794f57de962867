"""Separation-of-duties rules through the API: governance admins only, validated, audited, with a dry run."""

from access.models import Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from sod.models import SodRule


def entitlements(cast, sandbox):
    made = []
    for aws_name in ("PaymentsCreate", "PaymentsApprove"):
        entitlement = Entitlement.objects.create(account=sandbox.account, aws_name=aws_name, name=aws_name)
        entitlement.owners.set([cast.carol])
        made.append(entitlement)
    return made


def rule_body(cast, create, approve, **changes):
    body = {
        "name": "Create and approve payments",
        "why": "one person could pay themselves",
        "kind": "entitlements",
        "severity": "high",
        "enforcement": "block",
        "owner": cast.dave.pk,
        "enabled": True,
        "set_a": [create.pk],
        "set_b": [approve.pk],
    }
    return body | changes


def test_admin_creates_a_rule_and_it_is_audited(api_for, cast, sandbox):
    create, approve = entitlements(cast, sandbox)

    response = api_for(cast.erin).post("/api/sod/rules/", rule_body(cast, create, approve), format="json")

    assert response.status_code == 201, response.json()
    rule = SodRule.objects.get()
    event = AuditEvent.objects.get(action="sod.sodrule_created")
    assert (event.actor, event.after["set_a"], event.after["set_b"]) == (cast.erin, [create.pk], [approve.pk])
    changed = api_for(cast.erin).patch(f"/api/sod/rules/{rule.pk}/", {"severity": "critical"}, format="json")
    assert changed.status_code == 200
    assert AuditEvent.objects.get(action="sod.sodrule_changed").before["severity"] == "high"


def test_bad_rules_are_refused_with_the_reason(api_for, cast, sandbox):
    create, approve = entitlements(cast, sandbox)
    api = api_for(cast.erin)

    wildcard = api.post(
        "/api/sod/rules/",
        rule_body(cast, create, approve, kind="permissions", actions=["iam:Pass*", "lambda:CreateFunction"]),
        format="json",
    )
    one_side = api.post("/api/sod/rules/", rule_body(cast, create, approve, set_b=[]), format="json")

    # Refused by sod.rules like any refusal: its words, and the field they concern.
    assert (wildcard.status_code, wildcard.json()["field"]) == (400, "actions")
    assert "“iam:Pass*” is a pattern" in wildcard.json()["detail"]
    assert one_side.status_code == 400
    assert one_side.json() == {
        "detail": "An entitlement rule needs entitlements in both sets.",
        "field": "set_a",
        "errors": {},
    }
    assert not SodRule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="sod.").exists()


def test_dry_run_shows_who_would_be_flagged_and_saves_nothing(api_for, cast, sandbox):
    create, approve = entitlements(cast, sandbox)
    for entitlement in (create, approve):
        Grant.objects.create(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN)

    response = api_for(cast.erin).post("/api/sod/rules/dry_run/", rule_body(cast, create, approve), format="json")

    assert response.json() == {
        "flagged": 1,
        "people": [{"id": cast.alice.pk, "full_name": "Alice Engineer", "email": "alice@example.com"}],
    }
    assert not SodRule.objects.exists()


def test_a_dry_run_of_a_rule_that_could_not_be_saved_is_refused_the_same_way(api_for, cast, sandbox):
    create, approve = entitlements(cast, sandbox)

    response = api_for(cast.erin).post(
        "/api/sod/rules/dry_run/", rule_body(cast, create, approve, set_b=[]), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "An entitlement rule needs entitlements in both sets.",
        "field": "set_a",
        "errors": {},
    }


def test_only_governance_admins_edit_rules(api_for, cast, sandbox):
    create, approve = entitlements(cast, sandbox)

    assert (
        api_for(cast.dave).post("/api/sod/rules/", rule_body(cast, create, approve), format="json").status_code == 403
    )
    rule = api_for(cast.erin).post("/api/sod/rules/", rule_body(cast, create, approve), format="json").json()
    for who in (cast.dave, cast.frank):
        api = api_for(who)
        assert api.post("/api/sod/rules/dry_run/", rule_body(cast, create, approve), format="json").status_code == 403
        assert api.patch(f"/api/sod/rules/{rule['id']}/", {"enabled": False}, format="json").status_code == 403
        assert (
            api.put(f"/api/sod/rules/{rule['id']}/", rule_body(cast, create, approve), format="json").status_code == 403
        )
    assert SodRule.objects.get().enabled
    assert not AuditEvent.objects.filter(action="sod.sodrule_changed").exists()
    assert api_for(cast.bob).get("/api/sod/rules/").status_code == 403
    assert api_for(cast.bob).get("/api/sod/violations/").json()["results"] == []
