"""The catalog: requestable entitlements only, marked with what the caller holds or awaits."""

import pytest

from access.models import Grant
from catalog.models import AwsAccount, Entitlement


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


def test_catalog_lists_requestable_entitlements_with_their_owners(cast, sandbox, api_for):
    response = api_for(cast.alice).get("/api/catalog/")

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["id"] == sandbox.developers.pk
    assert item["account"] == {"id": sandbox.account.pk, "account_id": "123456789012", "name": "Sandbox"}
    assert item["owners"] == [{"id": cast.carol.pk, "name": "Carol Owner", "email": "carol@example.com"}]
    assert (item["held"], item["pending"]) == (False, False)


def test_catalog_marks_what_the_caller_awaits(cast, api_for, alices_request):
    (alices_view,) = api_for(cast.alice).get("/api/catalog/").json()["results"]
    (bobs_view,) = api_for(cast.bob).get("/api/catalog/").json()["results"]

    assert (alices_view["held"], alices_view["pending"]) == (False, True)
    assert (bobs_view["held"], bobs_view["pending"]) == (False, False)


def test_catalog_marks_what_the_caller_holds(cast, sandbox, api_for):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)

    (item,) = api_for(cast.alice).get("/api/catalog/").json()["results"]

    assert (item["held"], item["pending"]) == (True, False)


@pytest.fixture
def production(sandbox):
    account = AwsAccount.objects.create(account_id="210987654321", name="Production")
    return Entitlement.objects.create(
        account=account,
        kind=Entitlement.Kind.IAM_ROLE,
        aws_name="ReadOnly",
        name="Read-only",
        description="Look at billing dashboards",
        risk=Entitlement.Risk.MEDIUM,
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Read-only", "Developers"]),
        ({"risk": "low"}, ["Developers"]),
        ({"kind": "iam_role"}, ["Read-only"]),
        ({"q": "billing"}, ["Read-only"]),
        ({"q": "DEVELOP"}, ["Developers"]),
        ({"q": "nothing like this"}, []),
        ({"risk": "medium", "kind": "iam_group"}, []),
    ],
)
def test_catalog_filters(cast, production, api_for, query, expected):
    assert names(api_for(cast.alice).get("/api/catalog/", query)) == expected


def test_catalog_filters_by_account(cast, sandbox, production, api_for):
    response = api_for(cast.alice).get("/api/catalog/", {"account": production.account.pk})

    assert names(response) == ["Read-only"]


def test_catalog_rejects_an_unknown_filter_value(cast, sandbox, api_for):
    response = api_for(cast.alice).get("/api/catalog/", {"risk": "extreme", "account": 999999})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"risk", "account"}


def test_one_entitlement(cast, sandbox, api_for):
    response = api_for(cast.alice).get(f"/api/catalog/{sandbox.developers.pk}/")

    assert response.status_code == 200
    assert response.json()["name"] == "Developers"


@pytest.mark.parametrize("which", ["breakglass", "unknown"])
def test_entitlements_outside_the_catalog_are_not_found(cast, sandbox, api_for, which):
    entitlement_id = sandbox.breakglass.pk if which == "breakglass" else 999999

    assert api_for(cast.alice).get(f"/api/catalog/{entitlement_id}/").status_code == 404
