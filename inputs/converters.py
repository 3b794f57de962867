"""The path converter for ids: `<id:request_id>` in the portal's URLconfs (registered by inputs.apps)."""

from inputs.rules import ID_REGEX


class IdConverter:
    """1 to 18 digits. A longer number cannot be any object's id, so its URL matches no route and is a
    plain 404, before a view or the database sees it."""

    regex = ID_REGEX

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)
