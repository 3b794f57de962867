"""Identity providers that provision people over SCIM 2.0, and which of them provisioned whom."""

from django.conf import settings
from django.db import models


class IdentityProvider(models.Model):
    """Okta, Microsoft Entra or another IdP, holding one bearer token for /scim/v2/.

    Only the token's SHA-256 digest is stored (the token is 256 random bits, so a plain digest is enough to
    make a stolen database useless for calling us); the token itself is shown once, when issued
    (scim.tokens.issue_token: the `scim_token` command or the admin's action).
    """

    name = models.CharField(max_length=100, unique=True, help_text="Okta, Entra, …: named in the audit trail.")
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    # The token's first characters, so an administrator can tell which token an IdP holds.
    token_prefix = models.CharField(max_length=12, editable=False)
    token_issued_at = models.DateTimeField(editable=False)
    is_active = models.BooleanField(default=True, help_text="Clear to refuse this IdP's calls at once.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def actor_label(self) -> str:
        """Who the audit trail says made the change."""
        return f"scim:{self.name}"


class ProvisionedPerson(models.Model):
    """The identity provider that provisions a person, and the IdP's own id for them (externalId).

    A person no IdP has touched yet (from the HR feed or a first SSO sign-in) is visible to every IdP and
    is taken on by the first that writes to them; from then on other IdPs neither see nor change them.
    """

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_link")
    provider = models.ForeignKey(IdentityProvider, on_delete=models.PROTECT, related_name="people")
    external_id = models.CharField(max_length=255, blank=True)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~models.Q(external_id=""),
                name="scim_external_id_unique_per_provider",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} ({self.provider})"
