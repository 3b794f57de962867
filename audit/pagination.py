"""Pages of a large list without counting all of it: the count stops at `cap` and says "more than".

Django's Paginator counts the whole filtered queryset on every view (a million audit events read to
print one number). This one counts at most `cap` + 1 rows through a LIMIT subquery, a bounded read
of the index that orders the list, whatever the table's size; past the cap the page says "more than
10,000" and offers the pages up to it (filters narrow the list to reach older rows).
"""

from typing import Any

from django.core.paginator import Paginator
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
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        """True when there are more rows than were counted: `count` is then `cap` + 1, shown as "more than"."""
        return self.count > self.cap
