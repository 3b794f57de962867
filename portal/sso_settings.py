"""Single sign-on settings built from the PORTAL_OIDC_* and PORTAL_SAML_* variables (portal/settings.py).

Each function reads its variables, refuses a malformed or incomplete set with a message naming the variable
(ImproperlyConfigured, as every settings reader does: portal/env.py), and returns the app that allauth's
SOCIALACCOUNT_PROVIDERS lists, or None when none of its variables is set. Kept out of settings.py so the
settings stay a flat list of values; the tests call these functions with the variables they set.
"""

import base64
import re
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from portal.env import env_list, env_str


def _sso_url(name: str, value: str) -> str:
    """https, or http on the loopback only (a local identity provider in tests and development)."""
    parsed = urlparse(value)
    if (parsed.scheme == "https" and parsed.hostname) or (
        parsed.scheme == "http" and parsed.hostname in {"localhost", "127.0.0.1", "::1"}
    ):
        return value
    raise ImproperlyConfigured(f"{name} must be an https:// URL (http:// only on localhost), not {value!r}.")


def _sso_slug(name: str, default: str) -> str:
    value = env_str(name, default)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", value):
        raise ImproperlyConfigured(f"{name} must be lower-case letters, digits and dashes, not {value!r}.")
    return value


def _sso_certificate(name: str, value: str) -> str:
    """The IdP's signing certificate as python3-saml wants it (PEM body), refused unless it parses."""
    from cryptography import x509

    body = re.sub(r"-----(BEGIN|END) CERTIFICATE-----|\s", "", value)
    try:
        x509.load_der_x509_certificate(base64.b64decode(body, validate=True))
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not an X.509 certificate (PEM, or its base64 body).") from None
    return body


def oidc_app() -> dict | None:
    """The OpenID Connect client, when its variables are set. PORTAL_OIDC_SERVER_URL is the issuer: its
    /.well-known/openid-configuration is read at sign-in. Register <site>/accounts/oidc/<id>/login/callback/."""
    required = {
        name: env_str(name, "")
        for name in ("PORTAL_OIDC_SERVER_URL", "PORTAL_OIDC_CLIENT_ID", "PORTAL_OIDC_CLIENT_SECRET")
    }
    if not any(required.values()):
        return None
    if missing := [name for name, value in required.items() if not value]:
        raise ImproperlyConfigured(f"OpenID Connect needs {', '.join(missing)} as well.")
    scopes = env_list("PORTAL_OIDC_SCOPES", ["openid", "profile", "email"])
    if "openid" not in scopes:
        raise ImproperlyConfigured(f"PORTAL_OIDC_SCOPES must include openid, not {','.join(scopes)!r}.")
    return {
        "provider_id": _sso_slug("PORTAL_OIDC_PROVIDER_ID", "idp"),
        "name": env_str("PORTAL_OIDC_NAME", "Single sign-on"),
        "client_id": required["PORTAL_OIDC_CLIENT_ID"],
        "secret": required["PORTAL_OIDC_CLIENT_SECRET"],
        "settings": {
            "server_url": _sso_url("PORTAL_OIDC_SERVER_URL", required["PORTAL_OIDC_SERVER_URL"]),
            "scope": scopes,
            "oauth_pkce_enabled": True,
            # The IdP vouches for emails; accounts.sso still refuses one whose email_verified claim is false.
            "verified_email": True,
            # Which claims fill the person's fields; a claim the IdP does not send leaves its field alone.
            "person_claims": {
                "full_name": env_str("PORTAL_OIDC_CLAIM_NAME", "name"),
                "title": env_str("PORTAL_OIDC_CLAIM_TITLE", "title"),
                "department": env_str("PORTAL_OIDC_CLAIM_DEPARTMENT", "department"),
                "manager_email": env_str("PORTAL_OIDC_CLAIM_MANAGER_EMAIL", "manager_email"),
            },
        },
    }


def saml_app() -> dict | None:
    """The SAML service provider, when its variables are set: the IdP from its metadata URL, or from its
    entity id, sign-in URL and signing certificate. The SP's metadata is at <site>/accounts/saml/<org>/metadata/."""
    entity_id = env_str("PORTAL_SAML_IDP_ENTITY_ID", "")
    sso_url = env_str("PORTAL_SAML_IDP_SSO_URL", "")
    certificate = env_str("PORTAL_SAML_IDP_X509_CERT", "")
    metadata_url = env_str("PORTAL_SAML_IDP_METADATA_URL", "")
    if not (entity_id or sso_url or certificate or metadata_url):
        return None
    if not entity_id:
        raise ImproperlyConfigured("SAML needs PORTAL_SAML_IDP_ENTITY_ID as well.")
    if metadata_url and (sso_url or certificate):
        raise ImproperlyConfigured(
            "Set PORTAL_SAML_IDP_METADATA_URL or PORTAL_SAML_IDP_SSO_URL with PORTAL_SAML_IDP_X509_CERT, not both."
        )
    if metadata_url:
        idp = {"entity_id": entity_id, "metadata_url": _sso_url("PORTAL_SAML_IDP_METADATA_URL", metadata_url)}
    elif sso_url and certificate:
        idp = {
            "entity_id": entity_id,
            "sso_url": _sso_url("PORTAL_SAML_IDP_SSO_URL", sso_url),
            "x509cert": _sso_certificate("PORTAL_SAML_IDP_X509_CERT", certificate),
        }
    else:
        raise ImproperlyConfigured(
            "SAML needs PORTAL_SAML_IDP_METADATA_URL, or PORTAL_SAML_IDP_SSO_URL and PORTAL_SAML_IDP_X509_CERT."
        )

    def attribute(field: str, default: list[str]) -> list[str]:
        return env_list(f"PORTAL_SAML_ATTRIBUTE_{field.upper()}", default)

    provider_settings = {
        "idp": idp,
        # Each field: the attribute names to look for, first found wins; an absent one leaves the field alone.
        "attribute_mapping": {
            "uid": attribute("uid", ["urn:oasis:names:tc:SAML:attribute:subject-id"]),  # else the NameID
            "email": attribute(
                "email",
                [
                    "email",
                    "urn:oid:0.9.2342.19200300.100.1.3",
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                ],
            ),
            "email_verified": attribute("email_verified", ["email_verified"]),
            "full_name": attribute(
                "full_name",
                [
                    "name",
                    "displayName",
                    "urn:oid:2.16.840.1.113730.3.1.241",
                    "http://schemas.microsoft.com/identity/claims/displayname",
                ],
            ),
            "title": attribute("title", ["title", "urn:oid:2.5.4.12"]),
            "department": attribute("department", ["department"]),
            "manager_email": attribute("manager_email", ["manager_email"]),
        },
        "verified_email": True,  # as for OIDC: the IdP vouches, unless its email_verified attribute is false
        # Signed responses or assertions only (python3-saml refuses unsigned ones in strict mode), and only
        # answers to a sign-in this portal started: an unsolicited (IdP-initiated) response is refused.
        "advanced": {"strict": True, "reject_idp_initiated_sso": True},
    }
    if sp_entity_id := env_str("PORTAL_SAML_SP_ENTITY_ID", ""):
        provider_settings["sp"] = {"entity_id": sp_entity_id}
    return {
        "name": env_str("PORTAL_SAML_NAME", "Single sign-on"),
        "client_id": _sso_slug("PORTAL_SAML_ORGANIZATION", "idp"),  # the <org> in /accounts/saml/<org>/...
        "settings": provider_settings,
    }


def providers() -> dict:
    """SOCIALACCOUNT_PROVIDERS: the configured providers only, so with none the sign-in page shows no SSO button."""
    return {
        provider: {"APPS": [app]} for provider, app in (("openid_connect", oidc_app()), ("saml", saml_app())) if app
    }
