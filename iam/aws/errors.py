"""Typed AWS errors. Classified once, in the gateway; callers decide by type, not by code."""


class AwsError(Exception):
    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code


class TransientAwsError(AwsError):
    """Throttling, a 5xx or a broken connection: worth retrying later with backoff."""


class PermanentAwsError(AwsError):
    """Access denied, a missing entity, a limit: retrying will not help until someone fixes it."""
