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


@pytest.fixture
def many_requestable(sandbox):
    """130 more requestable entitlements beside Developers."""
    Entitlement.objects.bulk_create(
        Entitlement(
            account=sandbox.account,
            kind=Entitlement.Kind.IAM_GROUP,
            aws_name=f"Team{number:03d}",
            name=f"Team {number:03d}",
            requestable=True,
        )
        for number in range(130)
    )
    return Entitlement.objects.filter(requestable=True)


def test_next_reaches_every_entitlement_past_the_capped_count(cast, api_for, many_requestable, monkeypatch):
    """The count stops (here at 60, in production at 10,000); the pages do not."""
    from audit.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 60)
    api = api_for(cast.alice)
    pages = [api.get("/api/catalog/").json()]
    while pages[-1]["next"]:
        assert len(pages) < 10, "the next links go round in circles"
        pages.append(api.get(pages[-1]["next"]).json())

    assert (pages[0]["count"], pages[0]["count_capped"]) == (61, True)
    assert [len(page["results"]) for page in pages] == [50, 50, 31]
    read = [item["id"] for page in pages for item in page["results"]]
    assert sorted(read) == sorted(many_requestable.values_list("pk", flat=True))
    assert pages[2]["previous"] and api.get(pages[2]["previous"]).json()["results"] == pages[1]["results"]


@pytest.mark.parametrize("page", ["4", "0", "-1", "x", "1.5", "9" * 30])
def test_a_page_past_the_end_or_not_a_page_is_not_found(cast, api_for, many_requestable, monkeypatch, page):
    from audit.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 60)

    response = api_for(cast.alice).get("/api/catalog/", {"page": page})

    assert response.status_code == 404
    assert response.json()["detail"]


def test_past_the_cap_the_browsable_api_pages_too(cast, api_for, many_requestable, monkeypatch):
    """A person reading the API in a browser (DRF's HTML pages) on a page past the count."""
    from audit.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 60)

    response = api_for(cast.alice).get("/api/catalog/", {"page": 3, "format": "api"})

    assert response.status_code == 200
    assert "Team 129" in response.content.decode()


def test_the_last_page_is_asked_for_by_name_only_where_it_is_known(cast, api_for, many_requestable, monkeypatch):
    from audit.pagination import CappedPaginator

    api = api_for(cast.alice)
    assert len(api.get("/api/catalog/", {"page": "last"}).json()["results"]) == 31
    monkeypatch.setattr(CappedPaginator, "cap", 60)

    capped = api.get("/api/catalog/", {"page": "last"})

    assert capped.status_code == 404
    assert capped.json()["detail"].startswith("This list has more than 60 rows and its last page is not known")
