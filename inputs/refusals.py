"""The portal's refusals: what a service says when it will not do what was asked, and with which HTTP status.

Every app raises these, from the lowest layer that refuses (accounts) to the top (reviews, the API), so they
live in the bottom layer (`.importlinter`'s layers contract) and are imported from here alone. Each
carries the status the edge answers with: pages through `inputs.refusal_pages`, the API through its exception
handler (`api.exceptions`), in one place each. A refusal means nothing was changed.

`error_body` is the one shape of every error the API answers, whoever answers it (the API's exception
handler, the input guard, the MFA and cache-outage middlewares, the 400/403/404/500 handlers under /api/),
so it lives here too, where every layer may import it.
"""


class Refusal(Exception):
    """Refused; `message` is for the person, `field` names the input it concerns, if one."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(Refusal):
    """The input cannot be accepted as given; nothing was changed."""

    status = 400


class NotAllowed(Refusal):
    """The actor may not do this to this object."""

    status = 403


class StaleState(Refusal):
    """The object moved on since the actor looked at it; the decision was refused."""

    status = 409


class Duplicate(Refusal):
    """What was asked for already exists (a pending request, access already held)."""

    status = 409


class NotFound(Refusal):
    """No such object, or not one the actor may see (the two are not told apart)."""

    status = 404


class SodBlocked(Refusal):
    """A separation-of-duties rule forbids this combination; nothing was changed."""

    status = 409


class Contended(Refusal):
    """Another change to the same things kept winning the race, even after retries; nothing was changed."""

    status = 409


def error_body(detail: str, field: str | None = None, errors: dict[str, list[str]] | None = None, **extra) -> dict:
    """{"detail": words for the person, "field": the input it concerns or null, "errors": {field: [messages]}}.

    `errors` is empty but for a validation error, whose `detail` and `field` repeat its first message and
    field, so a client reading `detail` alone still has the reason. `extra` keeps what particular answers add
    (the `code` of an MFA or step-up refusal); it never replaces the three keys.
    """
    return {**extra, "detail": detail, "field": field, "errors": errors or {}}
