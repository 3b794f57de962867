"""Sign-ins, failed sign-ins, sign-outs and changes to second factors, in the hash-chained audit trail.

What auditors ask of an access system besides its decisions: who signed in, how (password, which single
sign-on provider, which second factor), who failed to and with what identifier (never the password), and
when second factors were added, removed, reset or fell back to a recovery code.

How a sign-in was made is read from allauth's record of the session (its authentication records: a
password or a provider, then the second factor). A session opened without any of allauth's flows (the
test client's `force_login`; no page of the portal does so) carries no such record and is not a sign-in
anyone made: it is not recorded.
"""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import (
    authentication_failed,
    authenticator_added,
    authenticator_removed,
    authenticator_reset,
    authenticator_used,
)
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from audit.services import ObjectRef, record

# allauth's record of a first factor, and the name the trail gives it.
FIRST_FACTORS = {"password": "password", "socialaccount": "sso", "code": "email_code"}
ANONYMOUS = "anonymous"
# The most of a tried identifier kept: an email address's maximum length.
IDENTIFIER_MAX = 254


def how_signed_in(request, user) -> dict | None:
    """The sign-in allauth just completed for `user`: its first factor (and provider), then its second factor.

    None when allauth made no record of one in this session.
    """
    records = [
        entry
        for entry in get_authentication_records(request, user)
        if not entry.get("reauthenticated")  # a later confirmation of the same sign-in, not a sign-in
    ]
    first = max((index for index, entry in enumerate(records) if entry.get("method") in FIRST_FACTORS), default=None)
    if first is None:
        return None
    method = FIRST_FACTORS[records[first]["method"]]
    how: dict[str, str | None] = {"method": method}
    if method == "sso":
        how["provider"] = records[first].get("provider")
    second = [entry.get("type") for entry in records[first + 1 :] if entry.get("method") == "mfa"]
    how["second_factor"] = second[-1] if second else None
    return how


def _identifier(credentials: dict) -> str:
    for field in ("email", "username", "login"):
        value = credentials.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()[:IDENTIFIER_MAX]
    return ""


def _target(identifier: str):
    """The person an attempt was made at, so it shows in their history; else the identifier itself."""
    person = get_user_model().objects.filter(email__iexact=identifier).first() if identifier else None
    return person or ObjectRef("accounts.sign_in_identifier", identifier.lower()[:64])


def record_failed_sign_in(identifier: str, **details) -> None:
    """A sign-in refused: the identifier tried and why; the password never reaches this function."""
    with transaction.atomic():
        record(
            actor=None,
            actor_label=ANONYMOUS,
            action="auth.sign_in_failed",
            obj=_target(identifier),
            after={"identifier": identifier, **details},
        )


@receiver(user_logged_in, dispatch_uid="accounts.auth_events.signed_in")
def signed_in(sender, request, user, **kwargs):
    how = how_signed_in(request, user) if request is not None and hasattr(request, "session") else None
    if how is None:
        return
    with transaction.atomic():
        record(actor=user, action="auth.signed_in", obj=user, after=how)


@receiver(user_logged_out, dispatch_uid="accounts.auth_events.signed_out")
def signed_out(sender, request, user, **kwargs):
    if user is None:  # nobody was signed in
        return
    with transaction.atomic():
        record(actor=user, action="auth.signed_out", obj=user)


@receiver(user_login_failed, dispatch_uid="accounts.auth_events.sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`; only the identifier is kept.
    record_failed_sign_in(_identifier(credentials), stage="password")


@receiver(authentication_failed, dispatch_uid="accounts.auth_events.second_factor_failed")
def second_factor_failed(sender, request, user, authenticator, reauthentication=False, **kwargs):
    record_failed_sign_in(
        user.email, stage="second_factor", second_factor=authenticator.type, reauthentication=reauthentication
    )


def _acting(request, user):
    """Who made a change to `user`'s second factors: the signed-in person (themselves, as a rule)."""
    acting = getattr(request, "user", None)
    return acting if acting is not None and acting.is_authenticated else user


def _second_factor_change(action: str, request, user, authenticator: Authenticator) -> None:
    with transaction.atomic():
        record(
            actor=_acting(request, user),
            action=action,
            obj=user,
            # The authenticator's kind and id only: its secret never enters the trail.
            after={"type": authenticator.type, "authenticator_id": authenticator.pk},
        )


@receiver(authenticator_added, dispatch_uid="accounts.auth_events.authenticator_added")
def second_factor_added(sender, request, user, authenticator, **kwargs):
    _second_factor_change("mfa.authenticator_added", request, user, authenticator)


@receiver(authenticator_removed, dispatch_uid="accounts.auth_events.authenticator_removed")
def second_factor_removed(sender, request, user, authenticator, **kwargs):
    _second_factor_change("mfa.authenticator_removed", request, user, authenticator)


@receiver(authenticator_reset, dispatch_uid="accounts.auth_events.authenticator_reset")
def second_factor_reset(sender, request, user, authenticator, **kwargs):
    _second_factor_change("mfa.authenticator_reset", request, user, authenticator)


@receiver(authenticator_used, dispatch_uid="accounts.auth_events.recovery_code_used")
def recovery_code_used(sender, request, user, authenticator, reauthenticated=False, **kwargs):
    """A recovery code stands in for a lost authenticator: worth a line of its own (the sign-in says so too)."""
    if authenticator.type != Authenticator.Type.RECOVERY_CODES:
        return
    with transaction.atomic():
        record(
            actor=user,
            action="mfa.recovery_code_used",
            obj=user,
            after={"authenticator_id": authenticator.pk, "reauthentication": bool(reauthenticated)},
        )
