"""What an event is about, in words: "Alice Smith — Developers (IAM group, 123456789012)", "Request #12".

Events name their object by type and id (`access.grant:1`), and that is what the chain hashes; the
words are looked up when a page is shown, so renaming a person or an entitlement never touches a
hashed row. `audit` is the lowest layer and knows none of the models, so each app registers, in its
AppConfig.ready, how to name its objects in a batch and how to find the objects that concern a
person or an entitlement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet


@dataclass(frozen=True)
class Subject:
    """An event's object in words, and the page that shows it (None where there is none)."""

    text: str
    url: str | None = None


# describe(ids, events) -> {object_id: Subject}, or {event.seq: Subject} where one object's events
# read differently (a campaign's review decisions name their lines); one or two queries per call.
Describer = Callable[[list[int], list], dict]
# about(pk) -> a queryset of this type's object ids (as text) that concern that person or entitlement.
Finder = Callable[[int], QuerySet]


@dataclass(frozen=True)
class _Registration:
    describe: Describer
    about_person: Finder | None
    about_entitlement: Finder | None


_registry: dict[str, _Registration] = {}


def register(
    object_type: str,
    *,
    describe: Describer,
    about_person: Finder | None = None,
    about_entitlement: Finder | None = None,
) -> None:
    """Say how events about `object_type` are named and found (called once, from AppConfig.ready)."""
    _registry[object_type] = _Registration(describe, about_person, about_entitlement)


def registered_types() -> list[str]:
    return sorted(_registry)


def fallback(object_type: str, object_id: str) -> Subject:
    return Subject(f"{object_type}:{object_id}")


def _is_row_id(object_id: str) -> bool:
    return object_id.isdigit() and len(object_id) <= 18  # what fits a bigint; others are ObjectRefs


def describe_events(events: Iterable) -> list:
    """Set `event.subject` on each event: one batch per object type, so a page of fifty events costs
    at most one or two queries per registered type, whatever the rows. Objects that no longer exist
    (or types nobody registered) keep their raw `type:id`."""
    events = list(events)
    by_type: dict[str, list] = defaultdict(list)
    for event in events:
        by_type[event.object_type].append(event)
    for object_type, of_type in by_type.items():
        registration = _registry.get(object_type)
        named = {}
        if registration is not None:
            ids = sorted({int(event.object_id) for event in of_type if _is_row_id(event.object_id)})
            named = registration.describe(ids, of_type) if ids else {}
        for event in of_type:
            event.subject = (
                named.get(event.seq) or named.get(event.object_id) or fallback(event.object_type, event.object_id)
            )
    return events


def _about(pk: int, finder_of: Callable[[_Registration], Finder | None]) -> Q:
    """The ids are read first, one small query per type: PostgreSQL cannot turn `object_id IN
    (subquery) OR …` into index scans (it filters a scan of the whole trail), but it does combine
    `object_type = t AND object_id IN (list)` branches as a bitmap OR over `audit_object_history`."""
    condition = Q(pk__in=[])
    for object_type, registration in _registry.items():
        finder = finder_of(registration)
        if finder is None:
            continue
        ids = [str(value) for value in finder(pk).values_list("audited_id", flat=True)]
        if ids:
            condition |= Q(object_type=object_type, object_id__in=ids)
    return condition


def about_person(person_id: int) -> Q:
    """Events by the person, or about them, their grants, requests and votes.

    Each branch is an index: the actor's (actor, seq), or (object_type, object_id, seq) with a list of ids."""
    return Q(actor_id=person_id) | _about(person_id, lambda registration: registration.about_person)


def about_entitlement(entitlement_id: int) -> Q:
    """Events about the entitlement, its grants, the requests for it and its review lines."""
    return _about(entitlement_id, lambda registration: registration.about_entitlement)


@dataclass(frozen=True)
class Picker:
    """A searchable choice on the audit log's filters: what to offer for typed text, and how a chosen
    value (as typed or picked) becomes a primary key."""

    options: Callable[[str], list[tuple[str, str]]]  # typed text -> [(value, label)], a few at most
    resolve: Callable[[str], int | None]


_pickers: dict[str, Picker] = {}


def register_picker(kind: str, *, options, resolve) -> None:
    _pickers[kind] = Picker(options, resolve)


def picker(kind: str) -> Picker | None:
    return _pickers.get(kind)
