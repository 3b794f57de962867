"""Bearer tokens of identity providers: issued (shown once), and found again from a request."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record
from scim.models import IdentityProvider

PREFIX = "scim_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(
    *, name: str, actor: User | None = None, actor_label: str | None = None
) -> tuple[IdentityProvider, str]:
    """A new token for the IdP `name` (created if new); any token it held before stops working.

    Returns the provider and the token, which is never stored and cannot be shown again.
    """
    token = PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        provider = IdentityProvider.objects.select_for_update().filter(name=name).first()
        created = provider is None
        if provider is None:
            provider = IdentityProvider(name=name)
        provider.token_digest, provider.token_prefix, provider.token_issued_at = digest(token), token[:12], now
        provider.is_active = True
        provider.save()
        record(
            actor=actor,
            actor_label=actor_label,
            action="scim.token_issued",
            obj=provider,
            after={"name": name, "prefix": provider.token_prefix, "replaced": not created},
        )
    return provider, token


def provider_for(token: str) -> IdentityProvider | None:
    """The active provider holding `token`, or None. Looked up by digest: no token is compared in time
    that depends on its characters."""
    if not token or len(token) > 200:
        return None
    return IdentityProvider.objects.filter(token_digest=digest(token), is_active=True).first()
