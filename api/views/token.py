"""API tokens for scripts: an email address and password (and authenticator code) in, a token out."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from api.authentication import expires_at, token_for
from api.exceptions import DomainErrorsMixin
from api.serializers.token import TokenLoginSerializer, TokenSerializer
from api.views.base import BAD_REQUEST


class PasswordGuessThrottle(AnonRateThrottle):
    """Allauth rate-limits the login form; this endpoint checks passwords too, so it is limited as well."""

    scope = "api_token"
    rate = "10/min"


class ObtainTokenView(DomainErrorsMixin, APIView):
    # The one endpoint open to anonymous callers; no session either, so no CSRF token is needed.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (PasswordGuessThrottle,)

    @extend_schema(
        summary="Get the caller's API token",
        request=TokenLoginSerializer,
        responses={
            200: TokenSerializer,
            400: BAD_REQUEST,
            429: OpenApiResponse(description="Too many attempts from this address; try again in a minute."),
        },
        auth=[],
    )
    def post(self, request):
        serializer = TokenLoginSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token = token_for(serializer.validated_data["user"])
        return Response({"token": token.key, "expires_at": expires_at(token)})
