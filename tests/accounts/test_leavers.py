"""Leavers lose all access at once, from the portal's confirmation (which the admin's action opens) or the
HR feed; joiners and movers come from the feed."""

import io
import random

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from access import services
from access.models import AccessRequest, Grant
from accounts.models import LastGovernanceAdmin, User
from accounts.services import mark_leaver
from audit.models import AuditEvent
from catalog.models import Entitlement
from inputs.refusals import NotAllowed, StaleState
from tests.conftest import tasks_queued

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def alice_holds_two(cast, sandbox):
    other = Entitlement.objects.create(account=sandbox.account, aws_name="ReadOnly", name="Read-only", risk="low")
    other.owners.set([cast.carol])
    for entitlement in (sandbox.developers, other):
        access_request = services.submit_request(
            requester=cast.alice, entitlement=entitlement, justification=GOOD_REASON
        )
        services.approve(request_id=access_request.pk, actor=cast.bob)
    pending = Entitlement.objects.create(account=sandbox.account, aws_name="Deployers", name="Deployers")
    pending.owners.set([cast.carol])
    services.submit_request(requester=cast.alice, entitlement=pending, justification=GOOD_REASON)
    grants = Grant.objects.filter(user=cast.alice)
    assert grants.count() == 2
    return grants


def test_a_leaver_holds_nothing_and_asks_for_nothing(cast, alice_holds_two):
    with tasks_queued() as queued:
        mark_leaver(person=cast.alice, actor=cast.erin)

    cast.alice.refresh_from_db()
    assert cast.alice.is_leaver and cast.alice.left_at is not None
    assert not cast.alice.is_active, "no way into the portal stays open"
    assert set(alice_holds_two.values_list("desired", "end_reason")) == {("absent", "Leaver")}
    assert AccessRequest.objects.filter(beneficiary=cast.alice, state="pending").count() == 0
    sent = [name for name, _ in queued]
    assert sent.count("iam.sync_grant") == 2, "one removal from AWS queued per grant"
    assert AuditEvent.objects.filter(action="grant.leaver_removed", actor=cast.erin).count() == 2
    with pytest.raises(StaleState, match="already a leaver"):
        mark_leaver(person=cast.alice, actor=cast.erin)


@pytest.mark.parametrize("who", ["bob", "alice", "frank"])
def test_only_governance_admins_mark_leavers(cast, alice_holds_two, who):
    with pytest.raises(NotAllowed, match="Only governance admins") as refusal:
        mark_leaver(person=cast.alice, actor=getattr(cast, who))

    assert refusal.value.status == 403
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver
    assert not AuditEvent.objects.filter(action="person.left").exists()


def test_time_from_leaver_to_removal_read_back_is_recorded(cast, alice_holds_two):
    mark_leaver(person=cast.alice, actor=cast.erin)
    grant = alice_holds_two.first()
    work = services.claim_grant_for_sync(grant.pk)

    services.record_sync_success(work, evidence="not a member (read back)")

    event = AuditEvent.objects.get(action="grant.revoked")
    assert 0 <= event.after["seconds_to_removal"] < 60


def tick_as_leavers(client, *people):
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "mark_leavers", "_selected_action": [person.pk for person in people]},
    )


def test_the_admin_action_opens_the_portals_confirmation_and_marks_nobody(client_for, cast, alice_holds_two):
    client = client_for(cast.erin)

    response = tick_as_leavers(client, cast.alice)

    assert response.status_code == 302 and response.url == reverse("access:leaver", args=[cast.alice.pk])
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver and alice_holds_two.filter(desired="present").count() == 2
    assert not AuditEvent.objects.filter(action="person.left").exists()
    confirmation = client.get(response.url).content.decode()
    assert "This cannot be undone." in confirmation and "What will be removed" in confirmation


def test_the_admin_action_takes_one_person_at_a_time(client_for, cast, alice_holds_two):
    client = client_for(cast.erin)

    response = tick_as_leavers(client, cast.alice, cast.dave)

    assert response.status_code == 302 and response.url == reverse("admin:accounts_user_changelist")
    assert "Tick one person" in client.get(response.url).content.decode()
    assert not User.objects.filter(employment_status=User.EmploymentStatus.LEAVER).exists()


def test_staff_who_are_not_governance_admins_are_refused_the_leaver_action(
    client_for, cast, alice_holds_two, django_user_model
):
    hugo = django_user_model.objects.create_user(email="hugo@example.com", full_name="Hugo Helpdesk", is_staff=True)
    hugo.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    TOTP.activate(hugo, generate_totp_secret())
    client = client_for(hugo)

    refused = tick_as_leavers(client, cast.alice)

    assert refused.status_code == 302 and refused.url == reverse("admin:accounts_user_changelist")
    assert "Only governance admins may mark leavers." in client.get(refused.url).content.decode()
    assert client.get(reverse("access:leaver", args=[cast.alice.pk])).status_code == 403, "nor the confirmation"
    cast.alice.refresh_from_db()
    assert not cast.alice.is_leaver


FEED = """email,full_name,title,department,manager_email,status
newbie@example.com,Nina Newbie,Engineer,Engineering,newlead@example.com,active
newlead@example.com,Nora Lead,Lead,Engineering,,active
alice@example.com,Alice Engineer,Senior Engineer,Platform,bob@example.com,active
dave@example.com,Dave Othermanager,Finance Manager,Finance,,leaver
"""


def run_feed(tmp_path, text: str) -> str:
    path = tmp_path / "hr.csv"
    path.write_text(text)
    out = io.StringIO()
    call_command("import_people", str(path), stdout=out)
    return out.getvalue()


def test_hr_feed_brings_joiners_movers_and_leavers(tmp_path, cast, alice_holds_two):
    output = run_feed(tmp_path, FEED)

    assert "2 joined, 1 moved, 1 left, 0 unchanged." in output
    newbie = User.objects.get(email="newbie@example.com")
    assert newbie.manager.email == "newlead@example.com", "managers later in the file are found"
    cast.alice.refresh_from_db()
    assert (cast.alice.title, cast.alice.department) == ("Senior Engineer", "Platform")
    assert User.objects.get(email="dave@example.com").is_leaver
    assert AuditEvent.objects.filter(actor_label="system:hr-feed", action="person.joined").count() == 2
    assert "1 unchanged" in run_feed(
        tmp_path, FEED.replace(",leaver", ",active").splitlines()[0] + "\n" + FEED.splitlines()[3] + "\n"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("email,full_name\nx@example.com,X\n", "missing: title, department, manager_email, status"),
        (FEED.replace("newbie@example.com", "not-an-email"), "Line 2: 'not-an-email' is not an email address."),
        (FEED.replace(",leaver", ",retired"), "Line 5: status must be active or leaver, not 'retired'."),
        (
            FEED.replace("newlead@example.com,active", "ghost@example.com,active"),
            "manager ghost@example.com is neither in the file nor in the portal",
        ),
        (FEED + "newbie@example.com,Nina Again,,,,active\n", "Line 6: newbie@example.com is already on line 2."),
    ],
)
def test_a_bad_feed_changes_nothing_and_says_where(tmp_path, cast, text, problem):
    people, events = User.objects.count(), AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        run_feed(tmp_path, text)

    assert "Nothing was changed" in str(refused.value) and problem in str(refused.value)
    assert (User.objects.count(), AuditEvent.objects.count()) == (people, events)


def test_a_manager_loop_is_refused(tmp_path, cast):
    loop = (
        "email,full_name,title,department,manager_email,status\n"
        "a@example.com,A,,,b@example.com,active\nb@example.com,B,,,a@example.com,active\n"
    )

    with pytest.raises(CommandError, match="Managers form a loop"):
        run_feed(tmp_path, loop)
    assert not User.objects.filter(email="a@example.com").exists()


def test_a_manager_loop_with_someone_already_in_the_portal_is_refused(tmp_path, cast):
    # Alice reports to Bob in the portal; the file would make Bob report to Alice.
    loop = "email,full_name,title,department,manager_email,status\nbob@example.com,Bob,,,alice@example.com,active\n"
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        run_feed(tmp_path, loop)

    assert "Nothing was changed" in str(refused.value)
    assert "Managers form a loop (line 2): bob@example.com → alice@example.com → bob@example.com." in str(refused.value)
    cast.bob.refresh_from_db()
    assert cast.bob.manager is None and AuditEvent.objects.count() == events


def run_feed_bytes(tmp_path, raw: bytes) -> None:
    path = tmp_path / "hr.csv"
    path.write_bytes(raw)
    call_command("import_people", str(path), stdout=io.StringIO())


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            FEED.replace("Nina Newbie", "Zoë Müller").encode("latin-1"),
            "is not UTF-8 text (byte 0xeb on line 2); save it as UTF-8 CSV.",
        ),
        # Random bytes (fixed seed): not UTF-8 either, refused the same way.
        (bytes(random.Random(17).randrange(256) for _ in range(4096)), "is not UTF-8 text"),
        (b"email,full_name\x00\n", "holds NUL bytes: it is not a CSV text file."),
    ],
    ids=["latin-1", "random-binary", "nul-bytes"],
)
def test_a_feed_that_is_not_utf8_text_is_refused_and_changes_nothing(tmp_path, cast, raw, problem):
    people, events = User.objects.count(), AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        run_feed_bytes(tmp_path, raw)

    assert "Nothing was changed" in str(refused.value) and problem in str(refused.value)
    assert (User.objects.count(), AuditEvent.objects.count()) == (people, events)


def test_a_utf8_feed_with_a_byte_order_mark_is_read(tmp_path, cast):
    run_feed_bytes(tmp_path, "\ufeff".encode() + FEED.replace("Nina Newbie", "Zoë Müller").encode())

    assert User.objects.get(email="newbie@example.com").full_name == "Zoë Müller"


def test_a_leaver_is_not_brought_back_by_the_feed_a_rehire_is_a_new_person(tmp_path, cast):
    mark_leaver(person=cast.dave, actor=cast.erin)
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        run_feed(tmp_path, FEED.replace(",leaver", ",active"))

    assert "Line 5: dave@example.com has left and is not brought back: a re-hire is a new person" in str(refused.value)
    cast.dave.refresh_from_db()
    assert cast.dave.is_leaver and not cast.dave.is_active and AuditEvent.objects.count() == events
    rehired = FEED.replace("dave@example.com,Dave Othermanager", "dave.again@example.com,Dave Othermanager")
    run_feed(tmp_path, rehired.replace(",leaver", ",active"))
    again = User.objects.get(email="dave.again@example.com")
    assert again.pk != cast.dave.pk and not again.is_leaver and not again.grants.exists()


def test_leavers_cannot_be_set_by_editing_the_status_field(client_for, cast):
    page = client_for(cast.erin).get(reverse("admin:accounts_user_change", args=[cast.alice.pk])).content.decode()

    assert 'name="employment_status"' not in page


def test_nobody_marks_themself_a_leaver(client_for, cast, django_user_model):
    """Not even with another governance admin around: leaving ends one's own access and accountability unseen."""
    django_user_model.objects.create_user(email="grace@example.com", full_name="Grace Admin", is_superuser=True)

    with pytest.raises(NotAllowed, match="cannot mark yourself") as refusal:
        mark_leaver(person=cast.erin, actor=cast.erin)
    response = client_for(cast.erin).post(
        reverse("admin:accounts_user_changelist"),
        {"action": "mark_leavers", "_selected_action": [cast.erin.pk]},
        follow=True,
    )

    assert refusal.value.status == 403
    assert "cannot mark yourself a leaver" in response.content.decode(), "the confirmation the action opens says so"
    cast.erin.refresh_from_db()
    assert not cast.erin.is_leaver and cast.erin.is_active
    assert not AuditEvent.objects.filter(action="person.left").exists()


def admin_form(person, **changes) -> dict:
    """The admin's change form for `person` as it is, with `changes` (False unticks a box)."""
    data = {
        "email": person.email,
        "full_name": person.full_name,
        "title": person.title,
        "department": person.department,
        "manager": person.manager_id or "",
        "iam_user_name": person.iam_user_name,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "_save": "Save",
    }
    for name, value in changes.items():
        if value is False:
            data.pop(name)
    return data


def test_last_governance_admin_stays(tmp_path, client_for, cast, django_user_model):
    """Erin is the cast's only governance admin: no door takes the role from her while she is."""
    admin = client_for(cast.erin)
    change = reverse("admin:accounts_user_change", args=[cast.erin.pk])
    events = AuditEvent.objects.count()

    unticked = {
        name: admin.post(change, admin_form(cast.erin, **{name: False})) for name in ("is_superuser", "is_active")
    }
    deleting = admin.get(reverse("admin:accounts_user_delete", args=[cast.erin.pk]))
    cast.erin.is_superuser = False
    with pytest.raises(LastGovernanceAdmin):
        cast.erin.save()
    cast.erin.refresh_from_db()
    with pytest.raises(LastGovernanceAdmin):
        cast.erin.delete()
    with pytest.raises(StaleState, match="last active governance admin") as by_the_system:
        mark_leaver(person=cast.erin, actor=None, actor_label="system:hr-feed")
    with pytest.raises(CommandError, match="last active governance admin"):
        run_feed(
            tmp_path,
            FEED.replace(
                "dave@example.com,Dave Othermanager,Finance Manager,Finance", "erin@example.com,Erin Admin,,Security"
            ),
        )

    assert {name: response.status_code for name, response in unticked.items()} == {
        "is_superuser": 200,
        "is_active": 200,
    }, "the form comes back with the refusal"
    assert all("last active governance admin" in r.content.decode() for r in unticked.values())
    assert deleting.status_code == 403
    assert by_the_system.value.status == 409
    cast.erin.refresh_from_db()
    assert cast.erin.is_superuser and cast.erin.is_active and not cast.erin.is_leaver
    assert AuditEvent.objects.count() == events

    # With a second governance admin, either may step down (but not both).
    grace = django_user_model.objects.create_user(email="grace@example.com", full_name="Grace Admin", is_superuser=True)
    assert admin.post(change, admin_form(cast.erin, is_superuser=False)).status_code == 302
    grace.is_active = False
    with pytest.raises(LastGovernanceAdmin):
        grace.save()
