"""A query about one person, compiled to SQL once per process and run with each person's key.

The navigation bar's badges and menus are one query of nine subqueries (portal.context_processors), built
from the selectors that own each rule. Building and compiling it through the ORM costs about 12,000 Python
calls (4-6 ms on this machine) on every portal page: more than the whole of a bare request. Its SQL depends
on the person only through their key and whether they are a governance admin (`votes_of` adds the shared
votes), so it is built once per shape from a stand-in for the person whose key is a sentinel, and the
sentinel's places among the parameters are where each person's key goes. A test compares the compiled query
with a fresh build for every member of the cast, so a selector that starts to depend on something else of
the person fails it rather than showing someone else's badges.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connection
from django.db.models import QuerySet

# A key no row has (autoincrement keys are positive), inside the range of any integer column: an exact lookup
# on a value out of the column's range is compiled to "false" by Django, with no parameter left to replace.
SENTINEL = -2_000_000_123
# A value of these types read while building is the clock's (SQLite has them as text already: compile's check).
CLOCK_TYPES = (datetime.date, datetime.time, datetime.timedelta)


class PersonQuery:
    """`build(person)` run as compiled SQL: `row(person)` is its first row as a mapping, None if it has none."""

    def __init__(self, build: Callable[[Any], QuerySet]):
        self.build = build
        self.compiled: dict[tuple[str, bool], tuple[str, tuple, frozenset[int]]] = {}

    def row(self, person) -> Mapping[str, Any] | None:
        sql, params = self.sql_for(person)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchone()
            names = [column[0] for column in cursor.description or ()]
        return None if found is None else dict(zip(names, found, strict=True))

    def sql_for(self, person) -> tuple[str, list]:
        shape = (connection.vendor, bool(person.is_governance_admin))
        if shape not in self.compiled:
            self.compiled[shape] = self.compile(person)
        sql, params, places = self.compiled[shape]
        return sql, [person.pk if place in places else value for place, value in enumerate(params)]

    def compile(self, person) -> tuple[str, tuple, frozenset[int]]:
        """Built twice, for stand-ins with two different sentinel keys: the key's places are where the two
        differ, and anything else that differs (a time read while building, on SQLite already a string) would
        be frozen into every later run, so it is refused."""
        sql, params = self.built_for(person, SENTINEL)
        again_sql, again = self.built_for(person, SENTINEL - 1)
        places = frozenset(place for place, value in enumerate(params) if value == SENTINEL)
        varies = [
            value
            for place, (value, other) in enumerate(zip(params, again, strict=True))
            if value != other and place not in places
        ]
        clocked = [value for value in params if isinstance(value, CLOCK_TYPES)]
        if sql != again_sql or varies or clocked:
            raise TypeError(f"A query compiled once depends only on the person's key, not on {varies or clocked!r}")
        return sql, tuple(params), places

    def built_for(self, person, key: int) -> tuple[str, tuple]:
        stand_in = copy.copy(person)  # the same fields, so the same shape; only the key differs
        stand_in.pk = key
        return self.build(stand_in).query.sql_with_params()
