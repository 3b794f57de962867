"""CSV evidence, streamed in constant memory and safe to open in a spreadsheet.

Every report's export goes through here (the audit log, SoD violations, posture findings): `audit`
is the lowest layer, so any app may use it.
"""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"); IAM names may start with + = @ -, and people choose their own comments.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """The cell as text, with a leading quote when a spreadsheet would otherwise evaluate it."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


class _Echo:
    """A file-like object that hands each written line back instead of storing it."""

    def write(self, value):
        return value


def streamed_csv(header: list[str], rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """A download of `header` then `rows`, written as they are produced (pass a lazy iterator)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([spreadsheet_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
