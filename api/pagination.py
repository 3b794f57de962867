"""How the API pages its lists (issue 21; described in the schema at /api/docs/ and in README.md, "REST API").

- Lists that grow with the company (a campaign's review lines: 100,000 a quarter) are keyset pages:
  `next` and `previous` carry an opaque `cursor` naming the last row shown, and a page is the next 50
  entries of the index that orders the list, however deep. There is no count: counting 100,000 lines
  to print one number is what made such lists grow with the data.
- Every other list keeps page numbers (`?page=`) and a count that stops at 10,000: past it `count`
  is 10,001 and `count_capped` is true ("more than 10,000"), never a COUNT of the whole table. The pages
  go on past the count: `next` is given while a page is full and a row follows it, so a script that follows
  `next` reads every row (the 10,001st and on are not cut off by the count having stopped).
"""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response

from audit.pagination import CappedPaginator


class CappedPageNumberPagination(PageNumberPagination):
    django_paginator_class = CappedPaginator

    def get_page_number(self, request, paginator):
        """`?page=last`, as DRF has it, except on a list whose count stopped: its last page is not known."""
        if request.query_params.get(self.page_query_param) in self.last_page_strings and paginator.capped:
            raise NotFound(
                f"This list has more than {paginator.cap:,} rows and its last page is not known: follow next."
            )
        return super().get_page_number(request, paginator)

    def get_html_context(self):
        """The browsable API's page links: DRF's, except past the counted pages, which DRF's links cannot show
        (they end at the count's last page): Previous and Next alone there."""
        if self.page.number <= self.page.paginator.num_pages:
            return super().get_html_context()
        return {"previous_url": self.get_previous_link(), "next_url": self.get_next_link(), "page_links": []}

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "count_capped": self.page.paginator.capped,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        paged = super().get_paginated_response_schema(schema)
        paged["properties"]["count"]["description"] = (
            f"Rows in the list, counted up to {CappedPaginator.cap:,}; {CappedPaginator.cap + 1:,} means more."
        )
        paged["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"True when the list has more than {CappedPaginator.cap:,} rows and `count` stopped.",
        }
        paged["required"] = ["count", "count_capped", "results"]
        return paged


class KeysetPagination(CursorPagination):
    """Keyset pages on the ordering the view sets on `paginator.ordering` before paginating: its first
    field is unique or nearly (a holder's name: their few lines are told apart by an offset), and an
    index serves the whole ordering after the view's filters."""

    page_size = 50
    ordering = "id"

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # A forged cursor is refused like a garbled one (404 "Invalid cursor"), never a database error:
        # no NUL (PostgreSQL refuses it in text), and an id that is a number of at most 18 digits.
        if cursor is not None and cursor.position is not None:
            position = cursor.position
            numeric = self.ordering[0].lstrip("-") == "id"
            if "\x00" in position or (numeric and not (position.isdigit() and len(position) <= 18)):
                raise NotFound(self.invalid_cursor_message)
        return cursor
