"""API tokens for scripts: an email address and password (and second-factor code) in, a token out."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_sign_in import SignInRefused, sign_in_for_token
from accounts.tokens import issue_token
from api.serializers.common import ErrorSerializer
from api.serializers.token import TokenLoginSerializer, TokenSerializer
from api.views.base import BAD_REQUEST
from inputs.refusals import error_body


class ObtainTokenView(APIView):
    # The one endpoint open to anonymous callers; no session either, so no CSRF token is needed.
    # Attempts are limited by allauth's sign-in limits (accounts.api_sign_in), not by a DRF throttle.
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        summary="Get an API token for one device",
        request=TokenLoginSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(
                BAD_REQUEST.response,
                description="The same answer for every refused sign-in (wrong password or code, unknown address, "
                "no second factor where one is needed); nothing was issued.",
            ),
            429: OpenApiResponse(
                ErrorSerializer, description="Too many attempts from this address or for this account; wait."
            ),
        },
        auth=[],
    )
    def post(self, request):
        serializer = TokenLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            sign_in = sign_in_for_token(request, email=data["email"], password=data["password"], code=data["code"])
        except SignInRefused as refused:
            return Response(error_body(refused.message), status=refused.status)
        token, key = issue_token(person=sign_in.user, name=data["name"], second_factor=sign_in.second_factor)
        return Response({"token": key, "name": token.name, "expires_at": token.expiry})
