"""Pages of a large list without counting all of it: the count stops at `cap` and says "more than".

Django's Paginator counts the whole filtered queryset on every view (a million audit events read to
print one number). This one counts at most `cap` + 1 rows through a LIMIT subquery, a bounded read
of the index that orders the list, whatever the table's size; past the cap the page says "more than
10,000". The pages go on past the count: there a page is read with one row more, which says whether a
next page follows, so Next (or the API's `next`) reaches every row. Django's own pages stop at the
count, and the 10,001st row would have ended the list. Deep pages are OFFSETs; the audit log, the one list
read deep, pages by position instead (audit.keyset) and uses this count only for its line.
"""

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000
# Rows on one page of every Django admin list: the time a list takes is the rendering of its rows (each
# cell a link, a date or a related row's name), so 25 rather than Django's 100 is what keeps a list near
# the portal's own pages.
ADMIN_PAGE_SIZE = 25

# Past the count a page is an OFFSET: a number past this (integers past 64 bits included) is refused as a page
# with no results rather than sent to the database.
MAX_PAGE = 10**9


class PageOfMany(Page):
    """A page of a list whose count stopped: whether another follows was read with the page (one row more)."""

    def __init__(self, object_list, number, paginator, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1

    def __repr__(self) -> str:
        return f"<Page {self.number} of a list whose count stopped>"


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

    def validate_number(self, number):
        """Django's check, except that past a capped count any page number up to MAX_PAGE is read."""
        try:
            return super().validate_number(number)
        except EmptyPage:
            number = int(number)  # it is a whole number: Django refused it for its size alone
            if not self.capped or not 1 <= number <= MAX_PAGE:
                raise
            return number

    def page(self, number):
        """Below the cap, Django's page. Past it, the page's rows and one more (is there a next page?)."""
        number = self.validate_number(number)
        if not self.capped:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows:
            raise EmptyPage(self.error_messages["no_results"])
        return PageOfMany(rows[: self.per_page], number, self, more=len(rows) > self.per_page)

    def get_page(self, number):
        """As Django's, except where the last page is not known: a page number that is not one, or is past
        the last row of a capped list, gives the first page (Django gives the last)."""
        try:
            number = self.validate_number(number)
        except PageNotAnInteger:
            number = 1
        except EmptyPage:
            number = 1 if self.capped else self.num_pages
        try:
            return self.page(number)
        except EmptyPage:  # past the last row of a capped list, or rows gone since they were counted
            return Paginator.page(self, 1)
