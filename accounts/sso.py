"""Single sign-on: people sign in through the organisation's identity provider (OpenID Connect or SAML).

The identity provider (IdP) says who someone is, and the portal believes it:
- an unknown email signs in as a new person created from the claims (`person.joined`), although
  password sign-up stays closed (accounts.adapters);
- every sign-in updates the person from the claims the IdP sends (a mover, `person.moved`); a claim the
  IdP does not send leaves its field as it is, so the HR feed or an admin may own that field;
- the manager is the person whose email the manager claim names; one the portal does not know yet is
  left empty and set on a later sign-in, and nobody becomes their own manager (the rule of the HR feed,
  through the same `accounts.services.upsert_person`);
- a verified email that matches a person links the IdP identity to that person (`person.sso_linked`):
  the IdP is trusted for email addresses (SOCIALACCOUNT_EMAIL_AUTHENTICATION in portal/settings.py);
- leavers and deactivated people are refused, and so is a sign-in without an email, or with one the IdP
  itself says is not verified.
"""

import logging
from dataclasses import dataclass
from typing import cast

from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.providers.base.constants import AuthError, AuthProcess
from django.db import models, transaction
from django.shortcuts import render

from accounts.auth_events import record_failed_sign_in
from accounts.models import User
from accounts.services import PersonRecord, upsert_person
from audit.services import record

logger = logging.getLogger(__name__)

ACTOR_PREFIX = "system:sso:"
# The person's fields an IdP may fill; the claim (OIDC) or attribute (SAML) behind each is configured
# per provider in SOCIALACCOUNT_PROVIDERS (portal/settings.py).
PERSON_FIELDS = ("full_name", "title", "department", "manager_email")


def _is_true(value) -> bool:
    # Claims come as JSON booleans (OIDC) or text (SAML, some OIDC providers).
    return value is True or str(value).strip().lower() in {"true", "1", "yes"}


class SsoRefused(Exception):
    """A sign-in the portal will not complete; the message is shown to the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IdpProfile:
    """What one sign-in's claims say about the person (only the fields the IdP sent are in `claims`)."""

    provider: str
    uid: str
    email: str
    claims: dict[str, str]

    @property
    def actor_label(self) -> str:
        return f"{ACTOR_PREFIX}{self.provider}"


def _oidc_claims(extra_data: dict, names: dict[str, str]) -> dict[str, object]:
    id_token, userinfo = extra_data.get("id_token") or {}, extra_data.get("userinfo") or {}
    # OpenID Connect Core 5.3.2: the user info must be about the subject of the ID token.
    if id_token.get("sub") and userinfo.get("sub") and str(id_token["sub"]) != str(userinfo["sub"]):
        raise SsoRefused("The identity provider answered about two different people; nobody was signed in.")
    merged = {**id_token, **userinfo}
    claims = {field: merged[claim] for field, claim in names.items() if merged.get(claim) is not None}
    if "full_name" not in claims and (merged.get("given_name") or merged.get("family_name")):
        claims["full_name"] = f"{merged.get('given_name') or ''} {merged.get('family_name') or ''}"
    if "email_verified" in merged:
        claims["email_verified"] = merged["email_verified"]
    return claims


def _saml_claims(attributes: dict, mapping: dict) -> dict[str, object]:
    claims = {}
    for field, names in mapping.items():
        for name in [names] if isinstance(names, str) else names:
            values = attributes.get(name)
            if values:  # SAML attributes are lists; the first value counts, as in allauth's own mapping
                claims[field] = values[0] or ""
                break
    return claims


def profile_of(sociallogin) -> IdpProfile:
    """The claims of one sign-in, refused without a usable email (accounts are keyed by email)."""
    provider = sociallogin.provider
    if provider.id == "saml":
        claims = _saml_claims(sociallogin.account.extra_data, provider.app.settings.get("attribute_mapping", {}))
    else:
        claims = _oidc_claims(sociallogin.account.extra_data, provider.app.settings.get("person_claims", {}))
    # allauth has already picked and validated the email (a claim, or SAML's NameID in email format).
    email = next((address.email for address in sociallogin.email_addresses if address.email), "")
    if not email:
        raise SsoRefused("Your identity provider did not send an email address, so the portal cannot tell who you are.")
    if "email_verified" in claims and not _is_true(claims["email_verified"]):
        raise SsoRefused(f"Your identity provider says {email} is not verified, so it cannot sign you in here.")
    fields = {field: str(claims[field]).strip() for field in PERSON_FIELDS if field in claims}
    if "manager_email" in fields:
        fields["manager_email"] = fields["manager_email"].lower()
    return IdpProfile(provider=sociallogin.account.provider, uid=sociallogin.account.uid, email=email, claims=fields)


def _manager_named_by(profile: IdpProfile, email: str, current: User | None) -> User | None:
    """The manager claim's person; empty when the claim is empty, unknown to the portal, or the person
    themself. No manager claim at all keeps the current manager."""
    if "manager_email" not in profile.claims:
        return current
    manager_email = profile.claims["manager_email"]
    if not manager_email or manager_email == email.lower():
        return None
    return User.objects.filter(email__iexact=manager_email).first()


def _record_of(profile: IdpProfile, person: User | None) -> tuple[PersonRecord, User | None]:
    email = person.email if person is not None else profile.email.lower()
    current = {
        "full_name": person.full_name if person else email,
        "title": person.title if person else "",
        "department": person.department if person else "",
    }
    # Claims are cut to the fields' lengths: an IdP's long title must not make the sign-in fail.
    lengths = {field: cast(models.CharField, User._meta.get_field(field)).max_length for field in current}
    values = {field: profile.claims.get(field, current[field])[: lengths[field]] for field in current}
    values["full_name"] = values["full_name"] or current["full_name"]
    manager = _manager_named_by(profile, email, person.manager if person else None)
    return PersonRecord(email=email, manager_email=manager.email if manager else "", status="active", **values), manager


def _vouch_for_email(person: User) -> None:
    """The IdP proved the person holds their email: record it verified, as allauth expects of an address
    used to sign in (otherwise allauth would wipe the password of a person linked by email)."""
    address = EmailAddress.objects.filter(user=person, email__iexact=person.email).first()
    if address is None:
        has_primary = EmailAddress.objects.filter(user=person, primary=True).exists()
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=not has_primary)
    elif not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])


def _link(person: User, account: SocialAccount, profile: IdpProfile) -> None:
    account.user = person
    account.save()
    _vouch_for_email(person)
    record(
        actor=None,
        actor_label=profile.actor_label,
        action="person.sso_linked",
        obj=person,
        after={"provider": account.provider, "uid": account.uid},
    )


def sign_in_known_person(*, person: User, profile: IdpProfile, account: SocialAccount) -> User:
    """Refuse a leaver; else update the person from the claims (a mover) and, on their first SSO sign-in,
    link the identity to them. One transaction: the changes, the link and their audit events together."""
    with transaction.atomic():
        person = User.objects.select_for_update(no_key=True).get(pk=person.pk)
        if person.is_leaver or not person.is_active:
            raise SsoRefused(f"{person.email} has left or been deactivated, so single sign-on cannot sign them in.")
        data, manager = _record_of(profile, person)
        person, _ = upsert_person(data=data, manager=manager, actor=None, actor_label=profile.actor_label)
        if account.pk is None:
            _link(person, account, profile)
    return person


def check_can_join(profile: IdpProfile) -> None:
    """A new person's email must be free: allauth would otherwise ask them to choose another one, and an
    email typed by the person is not one the IdP vouched for."""
    if EmailAddress.objects.filter(email__iexact=profile.email).exists():
        raise SsoRefused(
            f"{profile.email} is recorded on another person's account; an administrator must sort this out "
            "before you can sign in."
        )


def join(*, profile: IdpProfile, account: SocialAccount) -> User:
    """Create the person from the claims and link the identity, audited, in one transaction."""
    with transaction.atomic():
        data, manager = _record_of(profile, None)
        person, _ = upsert_person(data=data, manager=manager, actor=None, actor_label=profile.actor_label)
        _link(person, account, profile)
    return person


def _refusal(request, message: str):
    return render(request, "socialaccount/refused.html", {"message": message}, status=403)


class SingleSignOnAdapter(DefaultSocialAccountAdapter):
    """allauth's hooks for OIDC and SAML sign-ins, each handing over to the functions above."""

    def list_apps(self, request, provider=None, client_id=None):
        # Only the providers configured from the environment: one added in the Django admin (a SocialApp
        # row) is ignored, since any configured IdP may sign in as anyone whose email it claims.
        return [app for app in super().list_apps(request, provider, client_id) if app.pk is None]

    def authenticate_by_email(self, sociallogin):
        # The person's own email only (User.email, set by admins, the HR feed or SSO), never an address a
        # person added to their account themselves, which nobody has verified.
        for address in sociallogin.email_addresses:
            if not address.verified or not self.can_authenticate_by_email(sociallogin, address.email):
                continue
            person = User.objects.filter(email__iexact=address.email).first()
            if person is not None:
                return person, person.email
        return None

    def pre_social_login(self, request, sociallogin):
        try:
            if sociallogin.state.get("process") == AuthProcess.CONNECT:
                raise SsoRefused(
                    "Single sign-on links your identity by email when you sign in; there is nothing to connect."
                )
            profile = profile_of(sociallogin)
            if sociallogin.is_existing:
                sociallogin.user = sign_in_known_person(
                    person=sociallogin.user, profile=profile, account=sociallogin.account
                )
            else:
                check_can_join(profile)
        except SsoRefused as refusal:
            logger.warning(
                "SSO sign-in refused (%s, uid %s): %s",
                sociallogin.account.provider,
                sociallogin.account.uid,
                refusal.message,
            )
            tried = (sociallogin.user.email if sociallogin.user else "") or sociallogin.account.uid
            record_failed_sign_in(
                tried or "", stage="sso", provider=sociallogin.account.provider, reason=refusal.message[:300]
            )
            raise ImmediateHttpResponse(_refusal(request, refusal.message)) from refusal

    def is_open_for_signup(self, request, sociallogin) -> bool:
        # SSO creates people; password sign-up stays closed (accounts.adapters.NoSignupAccountAdapter).
        return True

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        return True

    def populate_user(self, request, sociallogin, data):
        user = sociallogin.user
        user.email = (data.get("email") or "").lower()
        user.full_name = data.get("name") or data.get("full_name") or ""
        return user

    def save_user(self, request, sociallogin, form=None):
        sociallogin.user = join(profile=profile_of(sociallogin), account=sociallogin.account)
        return sociallogin.user

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        if error == AuthError.CANCELLED:
            return  # allauth shows its "sign-in cancelled" page
        reason = (extra_context or {}).get("saml_last_error_reason") or exception or error
        provider_id = getattr(provider, "sub_id", None) or str(provider)
        logger.warning("SSO sign-in failed (%s): %s", provider_id, reason)
        record_failed_sign_in("", stage="sso", provider=provider_id, reason=str(error or "error")[:300])
        raise ImmediateHttpResponse(
            render(request, "socialaccount/authentication_error.html", {"provider": provider}, status=403)
        )
