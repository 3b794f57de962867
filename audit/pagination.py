"""Pages of a large list without counting all of it: the count stops at `cap` and says "more than".

Django's Paginator counts the whole filtered queryset on every view (a million audit events read to
print one number). This one counts at most `cap` + 1 rows through a LIMIT subquery, a bounded read
of the index that orders the list, whatever the table's size; past the cap the page says "more than
10,000" and offers the pages up to it (filters narrow the list to reach older rows). The audit log pages
by position instead (audit.keyset), so every event is reachable; it uses this count only for its line.
"""

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000
# Rows on one page of every Django admin list: the time a list takes is the rendering of its rows (each
# cell a link, a date or a related row's name), so 25 rather than Django's 100 is what keeps a list near
# the portal's own pages.
ADMIN_PAGE_SIZE = 25


class CappedPaginator(Paginator):
    object_list: QuerySet[Any]  # counted in SQL: a queryset, never a list
    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        """The rows up to `cap` + 1, counted around the list's own query: the same SQL as
        `.values("pk")[:cap + 1].count()`, without the ORM's aggregation (it clones and compiles the
        query twice to wrap it, a tenth of a list's queries' Python)."""
        capped = self.object_list.order_by().values_list("pk")[: self.cap + 1]
        try:
            sql, params = capped.query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (`.none()`): nothing to ask
            return 0
        with connections[capped.db].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) capped", params)  # noqa: S608 - the ORM's own SQL
            return cursor.fetchone()[0]

    @property
    def capped(self) -> bool:
        """True when there are more rows than were counted: `count` is then `cap` + 1, shown as "more than"."""
        return self.count > self.cap
