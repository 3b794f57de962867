"""The audit log's pages by position in the chain: "Older" and "Newer" links that name an event's number.

A page number is an OFFSET: page 4,000 of a million events reads and drops the 100,000 events before it,
and a count capped at 10,000 (audit.pagination) offers no page past it at all. Here a page is the next
events before (or after) a sequence number, read off the `seq` index in order: the same cost on the first
page and the millionth event, and every event reachable by following the links, filters and all.

`seq` is unique and never reused (the chain's position), so one column is the whole key: no tie to break.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from inputs.refusals import InvalidInput

# The links' parameters: events older than `before`, or newer than `after` (newest first either way).
BEFORE, AFTER = "before", "after"
# A sequence number in a link is at most 18 digits (a bigint; anything longer is not ours).
MAX_DIGITS = 18


@dataclass(frozen=True)
class Position:
    before: int | None = None
    after: int | None = None

    @property
    def newest(self) -> bool:
        return self.before is None and self.after is None


def position_from(query: Mapping[str, str]) -> Position:
    """Where a page starts, from the link's query; InvalidInput for a link that is not one of ours."""
    values = {}
    for name in (BEFORE, AFTER):
        raw = query.get(name)
        if raw is None or raw == "":
            continue
        if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_DIGITS):
            raise InvalidInput("That page link could not be read: start again from the newest events.")
        values[name] = int(raw)
    if len(values) > 1:
        raise InvalidInput("That page link could not be read: start again from the newest events.")
    return Position(**values)


@dataclass
class KeysetPage:
    """One page of events, newest first, with the sequence numbers the Older and Newer links carry."""

    object_list: list[Any]
    older: int | None  # the oldest event shown, when older ones match
    newer: int | None  # the newest event shown, when newer ones match
    at_newest: bool

    def __iter__(self) -> Iterator[Any]:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def page_of(rows: QuerySet, position: Position, size: int) -> KeysetPage:
    """`size` events of `rows` from `position`, in one query of `size` + 1 rows: the extra row says whether
    the list goes on that way. Whether it goes on the other way is where the link came from (a page reached
    by Older has newer events: the page it came from)."""
    if position.after is not None:
        read = list(rows.filter(seq__gt=position.after).order_by("seq")[: size + 1])
        more_newer = len(read) > size
        shown = read[:size][::-1]
        more_older = True
    else:
        newest_first = rows.order_by("-seq")
        if position.before is not None:
            newest_first = newest_first.filter(seq__lt=position.before)
        read = list(newest_first[: size + 1])
        more_older = len(read) > size
        shown = read[:size]
        more_newer = position.before is not None
    if not shown:  # a link past either end (the list changed, or a typed number): nothing on either side
        return KeysetPage([], older=None, newer=None, at_newest=position.newest)
    return KeysetPage(
        shown,
        older=shown[-1].seq if more_older else None,
        newer=shown[0].seq if more_newer else None,
        at_newest=position.newest or not more_newer,
    )
