"""The request cart, kept in the session: a list of entitlement ids."""

from catalog.models import Entitlement

SESSION_KEY = "access_cart"


def cart_ids(request) -> list[int]:
    return [int(pk) for pk in request.session.get(SESSION_KEY, [])]


def cart_entitlements(request) -> list[Entitlement]:
    ids = cart_ids(request)
    found = Entitlement.objects.filter(pk__in=ids).select_related("account").prefetch_related("owners")
    by_id = {entitlement.pk: entitlement for entitlement in found}
    return [by_id[pk] for pk in ids if pk in by_id]


def add(request, entitlement_id: int) -> bool:
    ids = cart_ids(request)
    if entitlement_id in ids:
        return False
    request.session[SESSION_KEY] = [*ids, entitlement_id]
    return True


def remove(request, entitlement_id: int) -> None:
    request.session[SESSION_KEY] = [pk for pk in cart_ids(request) if pk != entitlement_id]


def clear(request) -> None:
    request.session[SESSION_KEY] = []
