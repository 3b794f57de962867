"""Every refusal at /scim/v2/ is an RFC 7644 error body with its status: no token, a wrong or replaced
token, too many calls, and hostile or wrong input (NUL bytes, invalid UTF-8, huge numbers, deep nesting,
manager loops). Never a 500."""

import pytest
from django.core.management import call_command

from accounts.models import User
from audit.models import AuditEvent
from scim.tokens import issue_token
from tests.conftest import wait_for_a_fresh_period
from tests.scim.conftest import ENTERPRISE, scim_error


def test_no_token_a_wrong_token_or_another_scheme_is_401(okta, cast):
    for token in ("", "scim_not-the-token", "x" * 5000):
        response = okta.get("Users", token=token)
        scim_error(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    scim_error(okta.client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Basic b2t0YTpwYXNz"), 401)
    scim_error(okta.post("Users", {"userName": "mallory@example.com"}, token="wrong"), 401)
    assert not User.objects.filter(email="mallory@example.com").exists()


def test_a_new_token_replaces_the_old_one_and_a_switched_off_idp_is_refused(okta, cast):
    old = okta.token
    _, new = issue_token(name="Okta")
    scim_error(okta.get("Users", token=old), 401)
    assert okta.get("Users", token=new).status_code == 200
    okta.provider.refresh_from_db()
    okta.provider.is_active = False
    okta.provider.save()
    scim_error(okta.get("Users", token=new), 401)


def test_the_token_command_prints_a_token_once_and_audits_it(db, client, capsys):
    call_command("scim_token", "Entra")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("scim_")
    assert client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert AuditEvent.objects.filter(action="scim.token_issued").count() == 1


def test_too_many_calls_are_429_with_retry_after(okta, entra, cast, settings):
    settings.SCIM_REQUESTS_PER_MINUTE = 3
    wait_for_a_fresh_period(60, margin=5.0)  # the counter's window is the clock minute
    statuses = [okta.get("Users").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = okta.get("Users")
    scim_error(refused, 429)
    assert 0 < int(refused["Retry-After"]) <= 60
    assert entra.get("Users").status_code == 200, "each provider has its own count"


@pytest.mark.parametrize(
    "raw, scim_type",
    [
        (b'{"userName": "nul\\u0000@example.com"}', "invalidValue"),
        (b'{"userName": "a@example.com", "title": "x\\u0000y"}', "invalidValue"),
        (b'{"userName": "\xff\xfe@example.com"}', None),
        (b'{"userName": "a@example.com", "externalId": ' + b"9" * 5000 + b"}", "invalidSyntax"),
        (b'{"userName": "a@example.com", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "invalidSyntax"),
        (b'{"userName": "a@example.com", "name": ' + b'{"a":' * 50 + b"1" + b"}" * 50 + b"}", "invalidSyntax"),
        (b"[1, 2, 3]", "invalidSyntax"),
        (b"{not json", "invalidSyntax"),
        (b'{"userName": 12345678901234567890123}', "invalidValue"),
        (b'{"userName": "not an email"}', "invalidValue"),
        (b'{"userName": "a@example.com", "active": "maybe"}', "invalidValue"),
        (b'{"userName": "a@example.com", "title": ["a", "list"]}', "invalidValue"),
        (b'{"userName": "a@example.com", "title": "' + b"t" * 151 + b'"}', "invalidValue"),
        (b'{"userName": "a@example.com", "favouriteColour": "blue"}', "invalidPath"),
        (b'{"displayName": "No userName"}', "invalidValue"),
    ],
)
def test_hostile_or_wrong_bodies_are_refused_in_words(okta, cast, raw, scim_type):
    before = User.objects.count()
    response = okta.call("POST", "Users", raw=raw)
    assert response.status_code == 400, response.content[:300]
    if scim_type:
        scim_error(response, 400, scim_type)
    else:  # invalid UTF-8 may be refused by the portal's input guard before the view: still a SCIM error
        scim_error(response, 400)
    assert User.objects.count() == before


@pytest.mark.parametrize(
    "path", ["Users/abc", "Users/0", "Users/" + "9" * 40, "Users/-1", "Users/1%00", "Users/99999999"]
)
def test_ids_that_name_nobody_are_404(okta, cast, path):
    scim_error(okta.get(path), 404)
    scim_error(okta.patch(path, [{"op": "replace", "path": "title", "value": "x"}]), 404)


@pytest.mark.parametrize(
    "query",
    [
        "filter=userName%20sw%20%22a%22",
        "filter=title%20eq%20%22x%22",
        "filter=userName%20eq%20%22a%22%20or%20userName%20eq%20%22b%22",
        "filter=" + "a" * 2000,
        "startIndex=x",
        "count=1e999",
    ],
)
def test_unsupported_filters_and_bad_paging_are_400(okta, cast, query):
    scim_error(okta.get(f"Users?{query}"), 400)


@pytest.mark.parametrize(
    "operations, scim_type",
    [
        ([{"op": "frobnicate", "path": "title", "value": "x"}], "invalidSyntax"),
        ([{"op": "remove"}], "noTarget"),
        ([{"op": "remove", "path": "userName"}], "mutability"),
        ([{"op": "replace", "path": "userName", "value": "someone.else@example.com"}], "mutability"),
        ([{"op": "replace", "path": "nosuch", "value": "x"}], "invalidPath"),
        ([{"op": "replace", "value": "not an object"}], "invalidValue"),
        ([{"op": "replace", "path": "active", "value": "False "}], None),
        ([{"op": "replace", "path": "active", "value": "nein"}], "invalidValue"),
        (["not an object"], "invalidSyntax"),
        ([], "invalidSyntax"),
        ("Operations", "invalidSyntax"),
        ([{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": 10**30}}], "invalidValue"),
        ([{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "99999999"}], "invalidValue"),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(okta, cast, operations, scim_type):
    response = okta.patch(f"Users/{cast.alice.pk}", operations)
    if scim_type is None:  # "False " is still false: Entra's strings are read with their spaces trimmed
        assert response.status_code == 200
        return
    scim_error(response, 400, scim_type)
    cast.alice.refresh_from_db()
    assert cast.alice.is_active and cast.alice.manager == cast.bob


def test_a_manager_loop_is_refused(okta, cast):
    # Bob manages Alice: making Alice Bob's manager would close a loop.
    body = scim_error(
        okta.patch(
            f"Users/{cast.bob.pk}", [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(cast.alice.pk)}]
        ),
        400,
        "invalidValue",
    )
    assert "loop" in body["detail"]
    # Longer loops too: Carol under Alice, then Bob under Carol.
    okta.patch(
        f"Users/{cast.carol.pk}", [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(cast.alice.pk)}]
    )
    scim_error(
        okta.patch(
            f"Users/{cast.bob.pk}", [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(cast.carol.pk)}]
        ),
        400,
        "invalidValue",
    )
    scim_error(
        okta.patch(
            f"Users/{cast.bob.pk}", [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(cast.bob.pk)}]
        ),
        400,
        "invalidValue",
    )
    cast.bob.refresh_from_db()
    assert cast.bob.manager is None


def test_a_leaver_is_not_reactivated_and_cannot_manage(okta, cast):
    okta.patch(f"Users/{cast.dave.pk}", [{"op": "replace", "value": {"active": False}}])
    scim_error(okta.patch(f"Users/{cast.dave.pk}", [{"op": "replace", "value": {"active": True}}]), 400, "mutability")
    scim_error(
        okta.patch(
            f"Users/{cast.alice.pk}", [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(cast.dave.pk)}]
        ),
        400,
        "invalidValue",
    )


def test_the_last_governance_admin_is_not_deactivated(okta, cast):
    body = scim_error(okta.patch(f"Users/{cast.erin.pk}", [{"op": "replace", "value": {"active": False}}]), 409)
    assert "last active governance admin" in body["detail"]
    cast.erin.refresh_from_db()
    assert cast.erin.is_active and not cast.erin.is_leaver


def test_the_same_external_id_twice_is_a_conflict(okta, cast):
    okta.patch(f"Users/{cast.alice.pk}", [{"op": "replace", "path": "externalId", "value": "00u-same"}])
    scim_error(okta.post("Users", {"userName": "ivy@example.com", "externalId": "00u-same"}), 409, "uniqueness")
    assert not User.objects.filter(email="ivy@example.com").exists()


def test_unsupported_methods_and_discovery(okta, cast):
    scim_error(okta.post(f"Users/{cast.alice.pk}", {"userName": "a@example.com"}), 405)
    assert okta.get("ServiceProviderConfig").json()["patch"]["supported"] is True
    assert any(schema["id"] == ENTERPRISE for schema in okta.get("Schemas").json()["Resources"])


def test_with_the_cache_unreachable_calls_go_through_uncounted(okta, cast, settings, caplog):
    # A leaver's deactivation must not wait for the cache; the token is still checked in the database.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    settings.SCIM_REQUESTS_PER_MINUTE = 1
    for _ in range(3):
        assert okta.patch(f"Users/{cast.alice.pk}", [{"op": "replace", "value": {"active": False}}]).status_code == 200
    scim_error(okta.get("Users", token="wrong"), 401)
    assert "not counted, the cache is unreachable" in caplog.text


@pytest.mark.parametrize("value", ["a%00b@example.com", "%FF%FE", "%C0%AF"])
def test_filters_with_nul_or_invalid_utf8_are_refused(okta, cast, value):
    response = okta.get(f"Users?filter=userName%20eq%20%22{value}%22")
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        scim_error(response, 400)
    else:
        assert response.json()["totalResults"] == 0


def test_what_the_portal_does_not_do_is_501_and_unknown_paths_404_in_scim_words(okta, cast):
    for path in ("Bulk", "Me", "Users/.search", ".search"):
        scim_error(okta.get(path), 501)
    for path in ("", "Nothing", "Users/1/extra", "Users/"):
        scim_error(okta.get(path), 404)
    scim_error(okta.get("Nothing", token=""), 401)
