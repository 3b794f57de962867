"""The OpenAPI document describes every endpoint and is valid; its Swagger UI loads nothing from elsewhere."""

import re

from drf_spectacular.validation import validate_schema

ENDPOINTS = {
    "/api/approvals/": {"get"},
    "/api/approvals/bulk/": {"post"},
    "/api/break-glass/": {"post"},
    "/api/break-glass/reviews/": {"get"},
    "/api/break-glass/reviews/{id}/confirm/": {"post"},
    "/api/break-glass/reviews/{id}/revoke/": {"post"},
    "/api/catalog/": {"get"},
    "/api/catalog/{id}/": {"get"},
    "/api/grants/": {"get"},
    "/api/grants/{id}/extend/": {"post"},
    "/api/people/{id}/leaver/": {"post"},
    "/api/sod/rules/": {"get", "post"},
    "/api/sod/rules/dry_run/": {"post"},
    "/api/sod/rules/{id}/": {"get", "put", "patch"},
    "/api/sod/violations/": {"get"},
    "/api/reviews/campaigns/": {"get"},
    "/api/reviews/campaigns/{id}/": {"get"},
    "/api/reviews/campaigns/{id}/items/": {"get"},
    "/api/reviews/campaigns/{id}/decide/": {"post"},
    "/api/reviews/campaigns/{id}/accept_recommendations/": {"post"},
    "/api/reviews/campaigns/{id}/launch/": {"post"},
    "/api/reviews/campaigns/{id}/preview/": {"get"},
    "/api/grants/{id}/give_back/": {"post"},
    "/api/requests/": {"get", "post"},
    "/api/requests/cart/": {"post"},
    "/api/requests/{id}/": {"get"},
    "/api/requests/{id}/approve/": {"post"},
    "/api/requests/{id}/cancel/": {"post"},
    "/api/requests/{id}/deny/": {"post"},
    "/api/token/": {"post"},
}


def openapi_document(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_a_valid_openapi_3_document(cast, api_for):
    document = openapi_document(api_for(cast.alice))

    validate_schema(document)
    assert document["openapi"].startswith("3.")
    assert {path: set(operations) for path, operations in document["paths"].items()} == ENDPOINTS


def test_schema_documents_refusals(cast, api_for):
    approve = openapi_document(api_for(cast.alice))["paths"]["/api/requests/{id}/approve/"]["post"]

    assert set(approve["responses"]) == {"200", "400", "401", "403", "404", "409"}
    assert approve["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_every_error_response_is_the_one_error_shape(cast, api_for):
    document = openapi_document(api_for(cast.alice))
    error = document["components"]["schemas"]["Error"]
    responses = [
        (f"{method.upper()} {path}", status, response)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    ]

    assert {label for label, status, _ in responses if status == "401"} == {
        f"{method.upper()} {path}"
        for path, operations in ENDPOINTS.items()
        for method in operations
        if path != "/api/token/"
    }, "every operation but the anonymous token one answers 401 without a caller"
    assert {
        (label, status): response["content"]
        for label, status, response in responses
        if response["content"] != {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    } == {}
    assert error["required"] == ["detail", "errors", "field"]
    assert error["properties"]["errors"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert "401" not in document["paths"]["/api/token/"]["post"]["responses"], "open to anonymous callers"


def test_schema_names_both_ways_to_authenticate(cast, api_for):
    document = openapi_document(api_for(cast.alice))

    assert set(document["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    assert "security" not in document["paths"]["/api/token/"]["post"]


def test_docs_page_loads_its_assets_from_this_server(cast, api_for):
    response = api_for(cast.alice).get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the page names its script and stylesheet"
    assert all(
        asset.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/") or asset == "/api/docs/?script="
        for asset in assets
    ), assets
    assert "<script>" not in page, "no inline script: the start-up script has its own URL (CSP)"
    start_up = api_for(cast.alice).get("/api/docs/?script=").content.decode()
    assert "/api/schema/" in start_up


def test_schema_documents_keyset_pages_and_capped_counts(cast, api_for):
    document = openapi_document(api_for(cast.alice))
    items = document["paths"]["/api/reviews/campaigns/{id}/items/"]["get"]
    requests = document["paths"]["/api/requests/"]["get"]
    schemas = document["components"]["schemas"]

    assert {parameter["name"] for parameter in items["parameters"]} == {"id", "cursor", "decision"}
    keyset = schemas[items["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert "count" not in keyset["properties"] and "next" in keyset["properties"]
    paged = schemas[requests["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert {"count", "count_capped"} <= set(paged["required"])
