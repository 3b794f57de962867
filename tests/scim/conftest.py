"""Identity providers for the SCIM tests: Okta and Entra, each with its token, and a client that calls
/scim/v2/ as one of them."""

import json

import pytest

from scim.tokens import issue_token

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Idp:
    """Calls /scim/v2/ with one provider's bearer token, as its SCIM client does."""

    def __init__(self, client, provider, token):
        self.client, self.provider, self.token = client, provider, token

    def call(self, method: str, path: str, body=None, *, token: str | None = None, raw: bytes | None = None, **extra):
        headers = {} if token == "" else {"HTTP_AUTHORIZATION": f"Bearer {token or self.token}"}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs = {"content_type": SCIM_JSON} if data is not None else {}
        if data is not None:
            kwargs["data"] = data
        return getattr(self.client, method.lower())(f"/scim/v2/{path}", **kwargs, **headers, **extra)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def put(self, path, body, **kwargs):
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path, operations, **kwargs):
        return self.call("PATCH", path, {"schemas": [PATCH_OP], "Operations": operations}, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def okta(db, client):
    provider, token = issue_token(name="Okta")
    return Idp(client, provider, token)


@pytest.fixture
def entra(db, client):
    provider, token = issue_token(name="Entra")
    return Idp(client, provider, token)


def scim_error(response, status: int, scim_type: str | None = None) -> dict:
    """The response is an RFC 7644 error with this status (and scimType), and says something."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert str(body["status"]) == str(status) and body["detail"]
    if scim_type:
        assert body.get("scimType") == scim_type, body
    return body
