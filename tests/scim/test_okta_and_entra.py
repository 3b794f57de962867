"""The request sequences Okta and Microsoft Entra send to a SCIM 2.0 app, replayed as their docs show them.

Okta ("SCIM 2.0 protocol reference", developer.okta.com): search by userName, create, get, replace (PUT)
the whole profile with the enterprise extension, then `{"op": "replace", "value": {"active": false}}`.
Entra ("Tutorial: develop a sample SCIM endpoint", learn.microsoft.com): search, create with the
enterprise schema, get, search again, PATCH with capitalised ops and paths, the manager as a bare id,
`{"op": "Replace", "path": "active", "value": "False"}` (a boolean as a string), then DELETE.
"""

from access import services as access
from access.models import AccessRequest, ApprovalAssignment, Grant
from accounts.models import User
from audit.models import AuditEvent
from catalog.models import Entitlement
from scim.models import ProvisionedPerson
from tests.scim.conftest import ENTERPRISE, scim_error

REASON = "Deploying the billing service for the Q4 release"
GINA = "gina.new@example.com"


def test_okta_provisions_a_joiner_moves_her_and_deactivates_her_as_a_leaver(okta, cast, sandbox):
    # 1. Okta looks the person up before creating her.
    found = okta.get(f"Users?filter=userName%20eq%20%22{GINA}%22&startIndex=1&count=100")
    assert found.status_code == 200
    assert found.json()["totalResults"] == 0 and found.json()["Resources"] == []

    # 2. Create, exactly as Okta's reference shows it (password, groups and locale included).
    created = okta.post(
        "Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": GINA,
            "name": {"givenName": "Gina", "familyName": "New"},
            "emails": [{"primary": True, "value": GINA, "type": "work"}],
            "displayName": "Gina New",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
    )
    assert created.status_code == 201, created.content
    gina_id = created.json()["id"]
    assert created["Location"].endswith(f"/scim/v2/Users/{gina_id}")
    gina = User.objects.get(pk=gina_id)
    assert (gina.email, gina.full_name, gina.is_active) == (GINA, "Gina New", True)
    assert ProvisionedPerson.objects.get(person=gina).external_id == "00ujl29u0le5T6Aj10h7"
    assert AuditEvent.objects.filter(action="person.joined", actor_label="scim:Okta", object_id=gina_id).exists()

    # 3. Get her.
    fetched = okta.get(f"Users/{gina_id}")
    assert fetched.status_code == 200
    assert fetched.json()["userName"] == GINA and fetched.json()["active"] is True
    assert fetched.json()["externalId"] == "00ujl29u0le5T6Aj10h7"

    # 4. Replace the whole profile: a title, a department and Bob as manager (the enterprise extension).
    replaced = okta.put(
        f"Users/{gina_id}",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "id": gina_id,
            "userName": GINA,
            "name": {"givenName": "Gina", "familyName": "New"},
            "emails": [{"primary": True, "value": GINA, "type": "work"}],
            "title": "Engineer",
            "active": True,
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "meta": {"resourceType": "User"},
            ENTERPRISE: {"department": "Engineering", "manager": {"value": str(cast.bob.pk)}},
        },
    )
    assert replaced.status_code == 200, replaced.content
    gina.refresh_from_db()
    assert (gina.title, gina.department, gina.manager) == ("Engineer", "Engineering", cast.bob)
    assert replaced.json()[ENTERPRISE]["manager"]["value"] == str(cast.bob.pk)
    assert AuditEvent.objects.filter(action="person.moved", actor_label="scim:Okta", object_id=gina_id).exists()

    # She asks for access and it is granted; another request waits.
    granted = access.submit_request(requester=gina, entitlement=sandbox.developers, justification=REASON)
    access.approve(request_id=granted.pk, actor=cast.bob)
    deployers = Entitlement.objects.create(account=sandbox.account, aws_name="Deployers", name="Deployers")
    deployers.owners.set([cast.carol])
    waiting = access.submit_request(requester=gina, entitlement=deployers, justification=REASON)

    # 5. Deactivate: Okta's PATCH, value without a path. She is a leaver through the portal's own service.
    deactivated = okta.patch(f"Users/{gina_id}", [{"op": "replace", "value": {"active": False}}])
    assert deactivated.status_code == 200, deactivated.content
    assert deactivated.json()["active"] is False
    gina.refresh_from_db()
    assert gina.is_leaver and not gina.is_active
    assert Grant.objects.get(user=gina).desired == Grant.Desired.ABSENT
    waiting.refresh_from_db()
    assert waiting.state == AccessRequest.State.CANCELLED
    assert AuditEvent.objects.filter(action="person.left", actor_label="scim:Okta", object_id=gina_id).exists()
    assert set(
        AuditEvent.objects.filter(object_id=gina_id, action__startswith="scim.").values_list("action", flat=True)
    ) == {
        "scim.user_created",
        "scim.user_replaced",
        "scim.user_patched",
    }

    # Okta sends the same deactivation again (a retry): nothing more happens, and it is not an error.
    again = okta.patch(f"Users/{gina_id}", [{"op": "replace", "value": {"active": False}}])
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="person.left", object_id=gina_id).count() == 1


def test_entra_provisions_with_capitalised_ops_string_booleans_and_a_bare_manager_id(entra, cast):
    user_name = "test_user_ab6490ee@contoso.com"
    assert entra.get(f'Users?filter=userName+eq+"{user_name}"').json()["totalResults"] == 0

    created = entra.post(
        "Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": user_name,
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": user_name}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Hana Tester", "familyName": "Tester", "givenName": "Hana"},
            "roles": [],
            ENTERPRISE: {"department": "Platform"},
        },
    )
    assert created.status_code == 201, created.content
    hana_id = created.json()["id"]
    assert entra.get(f"Users/{hana_id}").json()["name"]["formatted"] == "Hana Tester"
    found = entra.get(f'Users?filter=userName eq "{user_name.upper()}"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == hana_id, "userName is not case-exact"
    by_external_id = entra.get('Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"').json()
    assert [user["id"] for user in by_external_id["Resources"]] == [hana_id]

    changed = entra.patch(
        f"Users/{hana_id}",
        [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Updated"},
            {"op": "Add", "path": "title", "value": "Platform Engineer"},
        ],
    )
    assert changed.status_code == 200, changed.content
    hana = User.objects.get(pk=hana_id)
    assert (hana.full_name, hana.title, hana.email) == ("Hana Updated", "Platform Engineer", user_name)

    managed = entra.patch(
        f"Users/{hana_id}", [{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": str(cast.carol.pk)}]
    )
    assert managed.status_code == 200, managed.content
    hana.refresh_from_db()
    assert hana.manager == cast.carol

    unmanaged = entra.patch(f"Users/{hana_id}", [{"op": "Remove", "path": f"{ENTERPRISE}:manager"}])
    assert unmanaged.status_code == 200
    hana.refresh_from_db()
    assert hana.manager is None

    disabled = entra.patch(f"Users/{hana_id}", [{"op": "Replace", "path": "active", "value": "False"}])
    assert disabled.status_code == 200, disabled.content
    hana.refresh_from_db()
    assert hana.is_leaver and not hana.is_active
    assert AuditEvent.objects.filter(action="person.left", actor_label="scim:Entra", object_id=hana_id).exists()

    deleted = entra.delete(f"Users/{hana_id}")
    assert deleted.status_code == 204
    assert User.objects.filter(pk=hana_id).exists(), "the record stays for the audit trail"
    assert AuditEvent.objects.filter(action="scim.user_deleted", object_id=hana_id).exists()


def test_entra_deletes_an_active_person_as_a_leaver(entra, cast):
    assert entra.delete(f"Users/{cast.alice.pk}").status_code == 204
    cast.alice.refresh_from_db()
    assert cast.alice.is_leaver


def test_a_person_from_the_hr_feed_is_found_and_taken_on_by_the_first_idp(okta, entra, cast):
    found = okta.get('Users?filter=userName eq "alice@example.com"').json()
    assert [user["id"] for user in found["Resources"]] == [str(cast.alice.pk)]
    assert found["Resources"][0][ENTERPRISE]["manager"]["value"] == str(cast.bob.pk)
    assert (
        okta.patch(f"Users/{cast.alice.pk}", [{"op": "replace", "path": "externalId", "value": "00u1"}]).status_code
        == 200
    )
    assert ProvisionedPerson.objects.get(person=cast.alice).provider == okta.provider

    # From then on Entra neither sees nor changes her.
    assert entra.get('Users?filter=userName eq "alice@example.com"').json()["totalResults"] == 0
    scim_error(entra.get(f"Users/{cast.alice.pk}"), 404)
    scim_error(entra.patch(f"Users/{cast.alice.pk}", [{"op": "replace", "path": "active", "value": False}]), 404)
    scim_error(entra.delete(f"Users/{cast.alice.pk}"), 404)
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver
    scim_error(entra.post("Users", {"userName": "alice@example.com"}), 409, "uniqueness")


def test_listing_pages_through_people(okta, cast):
    first = okta.get("Users?startIndex=1&count=2").json()
    assert first["totalResults"] == User.objects.count() and first["itemsPerPage"] == 2
    rest = okta.get("Users?startIndex=3&count=100").json()
    ids = [user["id"] for user in first["Resources"] + rest["Resources"]]
    assert sorted(ids, key=int) == ids and len(ids) == User.objects.count()


def test_departments_are_read_only_groups(okta, cast):
    listed = okta.get("Groups").json()
    names = [group["displayName"] for group in listed["Resources"]]
    assert names == ["Engineering", "Finance", "Platform", "Security"]
    engineering = next(group for group in listed["Resources"] if group["displayName"] == "Engineering")
    one = okta.get(f"Groups/{engineering['id']}").json()
    assert {member["value"] for member in one["members"]} == {str(cast.alice.pk), str(cast.bob.pk)}
    assert okta.get('Groups?filter=displayName eq "Finance"').json()["totalResults"] == 1

    scim_error(okta.post("Groups", {"displayName": "Sales"}), 403)
    scim_error(okta.put(f"Groups/{engineering['id']}", {"displayName": "Eng"}), 403)
    scim_error(okta.patch(f"Groups/{engineering['id']}", [{"op": "add", "path": "members", "value": []}]), 403)
    scim_error(okta.delete(f"Groups/{engineering['id']}"), 403)
    scim_error(okta.get("Groups/bm9uZQ"), 404)
    scim_error(okta.get("Groups/%25%25%25"), 404)


def test_a_mover_over_scim_has_pending_approvals_re_routed_to_the_new_manager(okta, cast, sandbox):
    pending = access.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    assert pending.approvals.get().assignments.get().approver == cast.bob

    moved = okta.patch(
        f"Users/{cast.alice.pk}", [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": str(cast.dave.pk)}]
    )
    assert moved.status_code == 200, moved.content

    votes = {vote.approver: vote.decision for vote in pending.approvals.get().assignments.all()}
    assert votes == {cast.bob: ApprovalAssignment.Decision.VOID, cast.dave: ApprovalAssignment.Decision.PENDING}
    assert AuditEvent.objects.filter(action="approval.rerouted", actor_label="scim:Okta").count() == 1
    access.approve(request_id=pending.pk, actor=cast.dave)
    pending.refresh_from_db()
    assert pending.state == AccessRequest.State.APPROVED


def test_names_in_every_form_idps_send(okta, cast):
    path = f"Users/{cast.alice.pk}"
    okta.patch(path, [{"op": "replace", "path": "name.givenName", "value": "Alicia"}])
    cast.alice.refresh_from_db()
    assert cast.alice.full_name == "Alicia Engineer"
    okta.patch(path, [{"op": "replace", "value": {"name": {"familyName": "Smith"}}}])
    cast.alice.refresh_from_db()
    assert cast.alice.full_name == "Alicia Smith"
    okta.patch(path, [{"op": "replace", "value": {"name.givenName": "Ali", "displayName": "Ali S."}}])
    cast.alice.refresh_from_db()
    assert cast.alice.full_name == "Ali S.", "a display name sent with the parts wins"
    created = okta.post(
        "Users",
        {
            "userName": "ivy@example.com",
            "name": {"formatted": "Ivy Q. Public", "familyName": "Public", "givenName": "Ivy"},
        },
    )
    assert created.json()["displayName"] == "Ivy Q. Public", "the formatted name wins over its parts"
    bare = okta.post("Users", {"userName": "jo@example.com"})
    assert bare.json()["displayName"] == "jo"
