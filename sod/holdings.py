"""Who holds what, as separation of duties judges it: the grant ledger, read through `settings.SOD_HOLDINGS`.

The ledger lives in `access`, above this app, so `sod` cannot import it; the setting names the function that
reads it (a dotted path, `access.selectors.present_holdings`), resolved when it is called. Nothing is filled
in from outside at start-up: a test or another ledger swaps it with the setting alone.
"""

from collections.abc import Collection, Iterable

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.models import User


def current_holdings(user_ids: Collection[int] | None = None) -> Iterable[tuple[int, int]]:
    """(person id, entitlement id) of every present grant, or of those of `user_ids` only."""
    return import_string(settings.SOD_HOLDINGS)(user_ids)


def held_by(person: User) -> set[int]:
    """The entitlements `person` holds now: what their violations are judged against."""
    return {entitlement for _, entitlement in current_holdings([person.pk])}
