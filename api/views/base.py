"""What every API view shares: numeric ids only, and the error answers documented in the schema.

Refusals become answers in one place, `api.exceptions` (REST_FRAMEWORK["EXCEPTION_HANDLER"]), all in one body,
the `Error` component; `api.schema` gives every other 4xx/5xx response the same component.
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import viewsets

from api.serializers.common import ErrorSerializer
from inputs.rules import ID_REGEX


class PortalViewSet(viewsets.GenericViewSet):
    # Only an id's 1 to 18 digits reach a view: /requests/abc/ and /requests/<20 digits>/ are plain 404s.
    lookup_value_regex = ID_REGEX


BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="The input was refused; nothing was changed.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="The caller may not do this.")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such object, or not one the caller may see.")
CONFLICT = OpenApiResponse(ErrorSerializer, description="The object moved on, or what was asked for exists already.")
