"""How the audit log names entitlements (see audit.subjects)."""

import re

from django.db.models import Q
from django.urls import reverse

from accounts.audit_names import as_text_ids
from audit.subjects import Subject, register, register_picker
from catalog.models import Entitlement

# The columns `entitlement_words` reads, for a describer's `only()` (under its relation's name: `words_of`).
ENTITLEMENT_WORDS = ["name", "kind", "account__account_id"]


def entitlement_words(entitlement: Entitlement) -> str:
    """'Developers (IAM group, 123456789012)': what, which kind, in which account."""
    return f"{entitlement.name} ({entitlement.get_kind_display()}, {entitlement.account.account_id})"


def _page_of(entitlement: Entitlement) -> str:
    return reverse("access:entitlement", args=[entitlement.pk])  # the catalog page everyone may read


def _describe(ids, events):
    entitlements = Entitlement.objects.filter(pk__in=ids).select_related("account")
    return {str(found.pk): Subject(entitlement_words(found), _page_of(found)) for found in entitlements}


def register_names():
    register(
        "catalog.entitlement",
        describe=_describe,
        about_entitlement=lambda pk: as_text_ids(Entitlement.objects.filter(pk=pk)),
    )
    register_picker("entitlement", options=_entitlements_like, resolve=_entitlement_with)


PICKED = 20
_CHOSEN = re.compile(r"^\s*#(\d{1,18})\b")


def _picked(entitlement: Entitlement) -> str:
    """The value a picked entitlement puts in the filter: its id first, then its words for the eye."""
    return f"#{entitlement.pk} {entitlement_words(entitlement)}"


def _entitlements_like(text: str) -> list[tuple[str, str]]:
    text = text.strip()
    if not text:
        return []
    found = Entitlement.objects.filter(Q(name__icontains=text) | Q(account__account_id__startswith=text))
    found = found.select_related("account").order_by("name", "pk")[:PICKED]
    return [(_picked(entitlement), entitlement_words(entitlement)) for entitlement in found]


def _entitlement_with(value: str) -> int | None:
    """'#7 …' as picked, else an exact name (when only one entitlement bears it)."""
    if chosen := _CHOSEN.match(value):
        return Entitlement.objects.filter(pk=int(chosen.group(1))).values_list("pk", flat=True).first()
    named = list(Entitlement.objects.filter(name__iexact=value.strip()).values_list("pk", flat=True)[:2])
    return named[0] if len(named) == 1 else None
