"""What an identity provider's SCIM writes change: joiners, movers and leavers, through accounts' services.

Each write is one transaction: the person is locked first, the change goes through the portal's own
services (`accounts.services.upsert_person` for joiners and movers, which also re-routes a mover's
pending approvals; `accounts.services.mark_leaver` for leavers, which ends their access), and the write is
recorded in the audit trail as the identity provider (`scim:<name>`), whatever it changed.
"""

from collections.abc import Callable
from dataclasses import asdict

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.services import PersonRecord, mark_leaver, upsert_person
from audit.services import record
from audit.transactions import atomic_with_retries
from inputs.refusals import Refusal
from scim import errors
from scim.models import IdentityProvider, ProvisionedPerson
from scim.resources import UserData, current


def visible_people(provider: IdentityProvider) -> QuerySet[User]:
    """The people this IdP may see: those it provisions, and those no IdP has taken on yet."""
    return User.objects.filter(Q(scim_link__isnull=True) | Q(scim_link__provider=provider))


def external_id_of(person: User) -> str:
    link = getattr(person, "scim_link", None)
    return link.external_id if link else ""


def _contended(message: str) -> errors.ScimError:
    return errors.ScimError(f"Another change to this person happened at the same moment; try again. {message}", 409)


def _manager(provider: IdentityProvider, person_id: int | None, data: UserData) -> User | None:
    """The manager `data` names, refused when unknown, a leaver, the person, or a loop."""
    if data.manager_id is None:
        return None
    manager = visible_people(provider).filter(pk=data.manager_id).first()
    if manager is None:
        raise errors.invalid_value(f"No person with id {data.manager_id} to be the manager.")
    if manager.is_leaver:
        raise errors.invalid_value(f"{manager} has left and cannot be a manager.")
    if manager.pk == person_id:
        raise errors.invalid_value("A person cannot be their own manager.")
    # Walk up from the new manager: reaching the person would close a loop (A manages B, B manages A).
    seen: set[int] = set()
    above: User | None = manager
    while above is not None and above.pk not in seen:
        seen.add(above.pk)
        if above.manager_id == person_id and person_id is not None:
            raise errors.invalid_value(f"Managers would form a loop: {manager} already reports to this person.")
        above = above.manager
    return manager


def _external_id_free(provider: IdentityProvider, external_id: str, person_id: int | None) -> None:
    if external_id and (
        ProvisionedPerson.objects.filter(provider=provider, external_id=external_id)
        .exclude(person_id=person_id)
        .exists()
    ):
        raise errors.uniqueness(f"Another person already has the externalId {external_id[:80]!r}.")


def _link(provider: IdentityProvider, person: User, external_id: str) -> None:
    link = ProvisionedPerson.objects.select_for_update().filter(person=person).first()
    if link is None:
        ProvisionedPerson.objects.create(person=person, provider=provider, external_id=external_id)
    elif link.provider_id != provider.pk:
        raise errors.not_found()  # another IdP took them on meanwhile
    elif link.external_id != external_id:
        link.external_id = external_id
        link.save(update_fields=["external_id"])


def _apply(provider: IdentityProvider, person: User | None, data: UserData, verb: str) -> User:
    """Make `person` (None: a joiner) what `data` describes. Runs inside the caller's transaction."""
    label = provider.actor_label
    if person is not None and person.is_leaver and data.active:
        raise errors.mutability(f"{person} has left and is not brought back: a re-hire is provisioned as a new person.")
    manager = _manager(provider, person.pk if person else None, data)
    _external_id_free(provider, data.external_id, person.pk if person else None)
    before = {} if person is None else asdict(_state(person))
    if person is None or not person.is_leaver:
        status = "active" if data.active else "leaver"
        manager_email = manager.email if manager else ""
        record_ = PersonRecord(data.user_name, data.name, data.title, data.department, manager_email, status)
        person, _ = upsert_person(data=record_, manager=manager, actor=None, actor_label=label)
    _link(provider, person, data.external_id)
    if not data.active and not person.is_leaver:
        try:
            person = mark_leaver(person=person, actor=None, actor_label=label)
        except Refusal as refused:
            raise errors.ScimError(refused.message, refused.status if refused.status in (400, 409) else 400) from None
    after = asdict(_state(person, data.external_id))
    record(
        actor=None,
        actor_label=label,
        action=f"scim.user_{verb}",
        obj=person,
        before=before or None,
        after={key: value for key, value in after.items() if before.get(key) != value},
    )
    return person


def _state(person: User, external_id: str | None = None) -> UserData:
    return current(person, external_id_of(person) if external_id is None else external_id)


@atomic_with_retries(_contended)
def create_user(*, provider: IdentityProvider, data: UserData) -> User:
    """POST /Users: a joiner. An email the portal already knows is a conflict (409 uniqueness): the IdP
    should have found them with its `userName eq` search and updated them instead."""
    try:
        with transaction.atomic():
            existing = User.objects.filter(email__iexact=data.user_name).first()
            if existing is not None:
                raise errors.uniqueness(f"A person with the userName {data.user_name} already exists.")
            return _apply(provider, None, data, "created")
    except IntegrityError:
        # The same person created by a call at the same moment (both found nobody, one insert won).
        raise errors.uniqueness(f"A person with the userName {data.user_name} already exists.") from None


@atomic_with_retries(_contended)
def update_user(
    *, provider: IdentityProvider, person_id: int, change: Callable[[UserData], UserData], verb: str
) -> User:
    """PUT or PATCH /Users/<id>: `change(current UserData) -> UserData`, applied to the locked person."""
    try:
        with transaction.atomic():
            person = visible_people(provider).select_for_update(no_key=True, of=("self",)).filter(pk=person_id).first()
            if person is None:
                raise errors.not_found(f"No person with id {person_id}.")
            data = change(_state(person))
            if data.user_name != person.email.lower():
                raise errors.mutability("userName (the person's email address) cannot change over SCIM.")
            return _apply(provider, person, data, verb)
    except IntegrityError:
        # Two people given the same externalId at the same moment, or taken on by two IdPs at once.
        raise errors.uniqueness("Another change at the same moment conflicts with this one; try again.") from None


@atomic_with_retries(_contended)
def delete_user(*, provider: IdentityProvider, person_id: int) -> None:
    """DELETE /Users/<id>: the person becomes a leaver; their record stays, as the audit trail needs it."""
    with transaction.atomic():
        person = visible_people(provider).select_for_update(no_key=True, of=("self",)).filter(pk=person_id).first()
        if person is None:
            raise errors.not_found(f"No person with id {person_id}.")
        _link(provider, person, external_id_of(person))
        if not person.is_leaver:
            try:
                mark_leaver(person=person, actor=None, actor_label=provider.actor_label)
            except Refusal as refused:
                raise errors.ScimError(refused.message, 409) from None
        record(actor=None, actor_label=provider.actor_label, action="scim.user_deleted", obj=person, after={})
