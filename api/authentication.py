"""API tokens that end: a token older than PORTAL_API_TOKEN_DAYS is refused, and asking for a token
again (with the password and authenticator code) then issues a new one.

DRF's tokens never expire on their own; a script's token leaked in a CI log would otherwise open the
portal for as long as the person works here.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

EXPIRED = "This API token has expired: get a new one from POST /api/token/."


def expires_at(token: Token):
    return token.created + timedelta(days=settings.API_TOKEN_DAYS)


def is_expired(token: Token, now=None) -> bool:
    return (now or timezone.now()) >= expires_at(token)


def token_for(user) -> Token:
    """The person's current token, replaced by a new one when it has expired."""
    token, created = Token.objects.get_or_create(user=user)
    if not created and is_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if is_expired(token):
            raise AuthenticationFailed(EXPIRED, code="token_expired")
        return user, token
