"""API tokens (django-rest-knox, model accounts.ApiToken): hashed at rest, one per device, ending after
PORTAL_API_TOKEN_DAYS (knox deletes an expired token when it is next presented).

Clients send `Authorization: Token <key>`. Every call also applies the portal's second-factor rule
(accounts.mfa.meets_mfa_policy): the MFA middleware only sees browser sessions, so without this a
decider's token would carry on deciding after its holder removed their authenticator, or if it was
issued before they became a decider.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied

from accounts.mfa import ENROL_MESSAGE, meets_mfa_policy

MFA_REQUIRED = "mfa_required"


class MfaRequired(PermissionDenied):
    """403 with the same body as the MFA middleware's refusal of a browser session's API call (the
    exception handler adds `field` and `errors`)."""

    default_code = MFA_REQUIRED

    def __init__(self):
        super().__init__({"detail": ENROL_MESSAGE, "code": MFA_REQUIRED})


class PortalTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        # knox decodes the header's token as UTF-8 unguarded: any other bytes would be a 500, not a 401.
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)  # deactivated people are refused (401)
        if not meets_mfa_policy(user, second_factor_proven=token.second_factor):
            raise MfaRequired()
        return user, token


class PortalTokenScheme(OpenApiAuthenticationExtension):
    """Names the token scheme in the OpenAPI document (`tokenAuth`, header `Authorization: Token <key>`)."""

    target_class = PortalTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
