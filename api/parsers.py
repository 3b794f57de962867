"""The API's JSON parser: DRF's, held to the portal's input bounds (inputs/rules.py).

DRF reads a JSON body straight from the stream and hands it to the decoder, which recurses once per
level: `[[[[...` 100,000 deep ended as a RecursionError (500), on every endpoint, the anonymous
token endpoint included. Here the bytes must be UTF-8, the decoder's recursion is answered as "too
deeply nested", and the decoded document is walked once for depth, NUL bytes and numbers beyond 64
bits, so no serializer, service or query ever sees them. Size is bounded before this, by
inputs.middleware.
"""

import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from inputs.rules import NOT_UTF8, TOO_DEEP, RefusedInput, check_json


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(NOT_UTF8) from None
        try:
            document = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        try:
            check_json(document)
        except RefusedInput as refused:
            raise ParseError(refused.message) from None
        return document
