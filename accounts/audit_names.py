"""How the audit log names people (see audit.subjects)."""

from django.contrib.auth import get_user_model
from django.db.models import CharField, Q
from django.db.models.functions import Cast

from audit.subjects import Subject, register, register_picker


def as_text_ids(queryset):
    """The rows' ids as text, to compare with AuditEvent.object_id inside one query."""
    return queryset.annotate(audited_id=Cast("pk", CharField())).values("audited_id")


# The columns a person is named by (`User.__str__`), for a describer's `only()`.
PERSON_WORDS = ["full_name", "email"]


def words_of(relation: str, fields: list[str]) -> list[str]:
    """`fields` of the related row `relation` ("approval__request__beneficiary"), for `only()`: a describer
    reads a page's fifty rows across up to six tables, and only what their words say."""
    return [f"{relation}__{field}" for field in fields]


def _describe(ids, events):
    people = get_user_model().objects.filter(pk__in=ids).only(*PERSON_WORDS)
    return {str(person.pk): Subject(str(person)) for person in people}


def register_names():
    register(
        "accounts.user",
        describe=_describe,
        about_person=lambda pk: as_text_ids(get_user_model().objects.filter(pk=pk)),
    )
    register_picker_of_people()


PICKED = 20


def _people_like(text: str) -> list[tuple[str, str]]:
    text = text.strip()
    if not text:
        return []
    found = get_user_model().objects.filter(Q(email__icontains=text) | Q(full_name__icontains=text))
    return [(person.email, f"{person} ({person.email})") for person in found.order_by("full_name", "email")[:PICKED]]


def _person_with(value: str) -> int | None:
    return get_user_model().objects.filter(email__iexact=value.strip()).values_list("pk", flat=True).first()


def register_picker_of_people():
    register_picker("person", options=_people_like, resolve=_person_with)
