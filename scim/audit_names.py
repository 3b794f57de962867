"""How the audit log names identity providers (see audit.subjects); people are named by accounts."""

from audit.subjects import Subject, register
from scim.models import IdentityProvider


def _describe(ids: list[int], events: list) -> dict[str, Subject]:
    providers = IdentityProvider.objects.filter(pk__in=ids)
    return {str(provider.pk): Subject(f"Identity provider {provider.name} (SCIM)") for provider in providers}


def register_names() -> None:
    register("scim.identityprovider", describe=_describe)
