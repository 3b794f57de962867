"""Domain errors raised by access services, each carrying the HTTP status the edge maps it to."""


class AccessError(Exception):
    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(AccessError):
    """The input cannot be accepted as given; nothing was changed."""

    status = 400


class NotAllowed(AccessError):
    """The actor may not do this to this object."""

    status = 403


class StaleState(AccessError):
    """The object moved on since the actor looked at it; the decision was refused."""

    status = 409


class Duplicate(AccessError):
    """What was asked for already exists (a pending request, access already held)."""

    status = 409


class NotFound(AccessError):
    """No such object, or not one the actor may see (the two are not told apart)."""

    status = 404


class SodBlocked(AccessError):
    """A separation-of-duties rule forbids this combination; nothing was changed."""

    status = 409


class Contended(AccessError):
    """Another change to the same things kept winning the race, even after retries; nothing was changed."""

    status = 409
