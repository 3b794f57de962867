"""API tokens: issued to a person for one named device, listed and revoked by their owner, and all
revoked at once when the person leaves, is deactivated, or stops being a governance admin or auditor.

Each change is one function here, audited in its own transaction as `token.issued` / `token.revoked`
with the device's name (never the token, which exists only in the answer that issues it).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import ApiToken, User
from audit.services import record


class TokenError(Exception):
    """A refused token change: the message for the person, and the HTTP status an edge answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


NAME_MAX = ApiToken._meta.get_field("name").max_length
# What a token was issued under: losing any of these revokes every token the person holds.
STANDING = ("is_active", "is_superuser", "is_auditor")
NOT_FOUND = "No such API token of yours."


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise TokenError("Name the device or script that will hold the token.")
    if len(name) > NAME_MAX:
        raise TokenError(f"A device name has at most {NAME_MAX} characters.")
    return name


def live_tokens(person):
    """The person's tokens that still work, newest first."""
    return ApiToken.objects.filter(user_id=person.pk, expiry__gt=timezone.now())


def issue_token(*, person: User, name: str, second_factor: bool) -> tuple[ApiToken, str]:
    """A new token for `person` on the device `name`, replacing the one that device had.

    `second_factor`: whether the person proved one to get it (the caller knows how they signed in).
    Returns the token's row and the token itself, to be shown once.
    """
    name = clean_name(name)
    with transaction.atomic():
        # The person first, as every path does (docs/architecture.md, locks): a leaver marked meanwhile
        # waits for this, then revokes what it issued; one marked before is refused here.
        person = User.objects.select_for_update(no_key=True).get(pk=person.pk)
        if not person.is_active:
            raise TokenError("Deactivated people get no API token.", status=403)
        for old in ApiToken.objects.filter(user=person, name=name):
            _revoke(old, actor=person, reason="replaced")
        token, key = ApiToken.objects.create(
            user=person,
            name=name,
            second_factor=second_factor,
            expiry=timedelta(days=settings.API_TOKEN_DAYS),
        )
        record(
            actor=person,
            action="token.issued",
            obj=token,
            after={
                "person": person.pk,
                "name": name,
                "second_factor": second_factor,
                "expires_at": token.expiry.isoformat(),
            },
        )
    return token, key


def revoke_token(*, person: User, token_id: int) -> ApiToken:
    """The owner revokes one of their tokens; anyone else's token id is not found (404)."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user_id=person.pk).first()
        if token is None:
            raise TokenError(NOT_FOUND, status=404)
        _revoke(token, actor=person, reason="revoked by owner")
    return token


def revoke_all_tokens(*, person: User, actor=None, actor_label: str | None = None, reason: str) -> int:
    """Every token the person holds, revoked (leavers, deactivation, a lost role). Returns how many."""
    with transaction.atomic():
        tokens = list(ApiToken.objects.select_for_update().filter(user_id=person.pk))
        for token in tokens:
            _revoke(token, actor=actor, actor_label=actor_label, reason=reason)
    return len(tokens)


def _revoke(token: ApiToken, *, actor, reason: str, actor_label: str | None = None) -> None:
    # Recorded first: once deleted the row has no id to name.
    record(
        actor=actor,
        actor_label=actor_label,
        action="token.revoked",
        obj=token,
        before={"person": token.user_id, "name": token.name, "created": token.created.isoformat()},
        after={"reason": reason},
    )
    token.delete()


@receiver(pre_save, sender=User, dispatch_uid="accounts.tokens.remember_standing")
def remember_standing(sender, instance, raw=False, update_fields=None, **kwargs):
    """Note what the person was before this save, so the save after it can tell what they lost."""
    if raw or instance.pk is None or (update_fields is not None and not set(update_fields) & set(STANDING)):
        instance._standing_before = None
        return
    instance._standing_before = User.objects.filter(pk=instance.pk).values(*STANDING).first()


@receiver(post_save, sender=User, dispatch_uid="accounts.tokens.revoke_on_lost_standing")
def revoke_on_lost_standing(sender, instance, raw=False, **kwargs):
    """Whatever path deactivates someone or takes their admin or auditor flag (mark_leaver, the admin,
    a script), their tokens go: none outlives the standing it was issued under, and reactivating
    the person brings none back."""
    before = getattr(instance, "_standing_before", None)
    instance._standing_before = None
    if raw or not before:
        return
    lost = [field for field in STANDING if before[field] and not getattr(instance, field)]
    if lost:
        revoke_all_tokens(person=instance, actor_label="system:standing-lost", reason=f"lost {', '.join(lost)}")
