"""Changes to people: joiners, movers and leavers, one function each, audited."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts import roles
from accounts.models import LastGovernanceAdmin, User
from accounts.signals import manager_changed, name_changed, person_left
from accounts.tokens import revoke_all_tokens
from audit.services import record
from audit.transactions import atomic_with_retries
from inputs.refusals import Contended, NotAllowed, StaleState


@atomic_with_retries(Contended)
def mark_leaver(*, person: User, actor, actor_label: str | None = None) -> User:
    """Set the person to leaver; everything they hold becomes desired-absent in the same transaction.

    The person is also deactivated, so no way into the portal stays open: password sign-in, their
    sessions and their API tokens all end (single sign-on refuses leavers too). The tokens are deleted,
    so reactivating the person brings none back.
    By a governance admin, or by the system (no actor: the HR feed, named by `actor_label`). Nobody
    marks themself (an admin would end their own access, and their own accountability, unseen), and
    the last active governance admin is never marked (409): someone must stay to govern the portal.
    """
    if actor is not None and not roles.is_governance_admin(actor):
        raise NotAllowed("Only governance admins may mark leavers.")
    if actor is not None and actor.pk == person.pk:
        raise NotAllowed("You cannot mark yourself a leaver: another governance admin or the HR feed does.")
    with transaction.atomic():
        # FOR NO KEY UPDATE: rows referring to the person may still be written meanwhile (access lock order).
        person = User.objects.select_for_update(no_key=True).get(pk=person.pk)
        if person.is_leaver:
            # Stale: someone (or the same admin's second click) got there first. Nothing more to do.
            raise StaleState(f"{person} is already a leaver.")
        now = timezone.now()
        was_active = person.is_active
        person.employment_status, person.left_at, person.is_active = User.EmploymentStatus.LEAVER, now, False
        try:
            # People are locked first (docs/architecture.md, locks): the governance admins' rows it counts,
            # before any request, grant or the audit head.
            person.keep_a_governance_admin()
        except LastGovernanceAdmin as exc:
            raise StaleState(str(exc.message)) from None
        # Receivers lock the person's requests and grants: before the audit chain head, which `record` locks.
        person_left.send(sender=User, person=person, actor=actor, left_at=now)
        # Here rather than by the deactivation's signal (accounts.tokens), so the audit names who did it.
        revoke_all_tokens(person=person, actor=actor, actor_label=actor_label, reason="left")
        person.save(update_fields=["employment_status", "left_at", "is_active"])
        record(
            actor=actor,
            actor_label=actor_label,
            action="person.left",
            obj=person,
            before={"employment_status": "active", "is_active": was_active},
            after={"employment_status": "leaver", "left_at": now.isoformat(), "is_active": False},
        )
    return person


@dataclass(frozen=True)
class PersonRecord:
    """One person as the HR feed describes them."""

    email: str
    full_name: str
    title: str
    department: str
    manager_email: str
    status: str  # "active" or "leaver"


def upsert_person(
    *, data: PersonRecord, manager: User | None, actor, actor_label: str | None = None
) -> tuple[User, str]:
    """Create a joiner or update a mover. Returns the person and what happened: joined, moved, unchanged."""
    fields = {"full_name": data.full_name, "title": data.title, "department": data.department, "manager": manager}
    with transaction.atomic():
        person = User.objects.select_for_update(no_key=True).filter(email__iexact=data.email).first()
        if person is None:
            person = User.objects.create_user(email=data.email, password=None, **fields)
            record(
                actor=actor,
                actor_label=actor_label,
                action="person.joined",
                obj=person,
                after={key: getattr(value, "pk", value) for key, value in fields.items()},
            )
            return person, "joined"
        before = {key: getattr(getattr(person, key), "pk", getattr(person, key)) for key in fields}
        after = {key: getattr(value, "pk", value) for key, value in fields.items()}
        if before == after:
            return person, "unchanged"
        for key, value in fields.items():
            setattr(person, key, value)
        person.save(update_fields=list(fields))
        if before["manager"] != after["manager"]:
            # A mover's pending approvals follow the new manager (access.services.rerouting), whoever
            # reports the move: the HR feed, single sign-on or SCIM. Before `record`: receivers lock
            # requests, which come before the audit chain head (docs/architecture.md, locks).
            manager_changed.send(
                sender=User, person=person, old_manager_id=before["manager"], actor=actor, actor_label=actor_label
            )
        if before["full_name"] != after["full_name"]:
            name_changed.send(sender=User, person=person)
        record(actor=actor, actor_label=actor_label, action="person.moved", obj=person, before=before, after=after)
        return person, "moved"
