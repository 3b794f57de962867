"""Identity providers the SSO tests run themselves: a real OpenID Connect provider over HTTP on
127.0.0.1, and a SAML identity provider that answers the portal's AuthnRequests with signed responses.

Nothing of the portal is replaced: allauth fetches discovery, exchanges the code, fetches the user info
over HTTP from `LocalOidcProvider`, and python3-saml checks `LocalSamlIdp`'s XML signatures with xmlsec.
"""

import base64
import datetime
import hashlib
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape, quoteattr

import jwt
import requests as http
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.test import Client
from django.urls import reverse
from lxml import etree
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from portal import sso_settings

SAML_HOST = "portal.example.com"  # python3-saml wants a host with a dot in the SP's URLs


class _Server:
    """A threaded HTTP server on a free loopback port; `routes` maps (method, path) to a handler
    taking the request handler and returning (status, headers, body)."""

    def __init__(self):
        self.routes = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                route = owner.routes.get((method, urlsplit(self.path).path))
                status, headers, body = route(self) if route else (404, {}, b"not found")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _json(status: int, payload: dict) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _form(handler) -> dict[str, str]:
    length = int(handler.headers.get("Content-Length") or 0)
    return {key: values[0] for key, values in parse_qs(handler.rfile.read(length).decode()).items()}


class LocalOidcProvider(_Server):
    """An OpenID Connect provider: discovery, authorize (code flow with PKCE S256), token (an RS256
    ID token signed with a key made here), user info and the JWKS. `sign_in_as(**claims)` says who
    the next person to reach /authorize is; the ID token carries sub and email, the user info all claims."""

    def __init__(self, client_id: str = "portal", client_secret: str | None = None):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret or secrets.token_urlsafe(24)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.person: dict | None = None
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.userinfo_overrides: dict = {}  # what a misbehaving IdP adds to its user info answer
        self.routes = {
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/authorize"): self._authorize,
            ("POST", "/token"): self._token,
            ("GET", "/userinfo"): self._userinfo,
            ("GET", "/jwks"): self._jwks,
        }

    def sign_in_as(self, **claims) -> None:
        self.person = claims

    def _discovery(self, handler):
        return _json(
            200,
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "userinfo_endpoint": f"{self.url}/userinfo",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            },
        )

    def _authorize(self, handler):
        query = {key: values[0] for key, values in parse_qs(urlsplit(handler.path).query).items()}
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return 400, {}, b"unknown client or response type"
        if "openid" not in query.get("scope", "").split() or query.get("code_challenge_method") != "S256":
            return 400, {}, b"the openid scope and PKCE (S256) are required"
        back = {"state": query.get("state", "")}
        if self.person is None:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {
                "claims": dict(self.person),
                "redirect_uri": query["redirect_uri"],
                "code_challenge": query["code_challenge"],
            }
            back["code"] = code
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(back)}"}, b""

    def _client_credentials(self, handler, form) -> tuple[str | None, str | None]:
        authorization = handler.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            return client_id, secret
        return form.get("client_id"), form.get("client_secret")

    def _token(self, handler):
        form = _form(handler)
        self.token_requests.append(form)
        if self._client_credentials(handler, form) != (self.client_id, self.client_secret):
            return _json(401, {"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _json(400, {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if form.get("redirect_uri") != grant["redirect_uri"] or challenge != grant["code_challenge"]:
            return _json(400, {"error": "invalid_grant", "error_description": "redirect_uri or PKCE mismatch"})
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant["claims"]
        return _json(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant["claims"]),
            },
        )

    def id_token(self, claims: dict) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
            **{key: claims[key] for key in ("sub", "email", "email_verified") if key in claims},
        }
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})

    def _userinfo(self, handler):
        token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = self.access_tokens.get(token)
        if claims is None:
            return _json(401, {"error": "invalid_token"})
        return _json(200, {**claims, **self.userinfo_overrides})

    def _jwks(self, handler):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return _json(200, {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]})


def self_signed_certificate(common_name: str) -> tuple[str, str]:
    """A fresh RSA key and a self-signed certificate for it, both PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


class LocalSamlIdp:
    """A SAML identity provider: reads the portal's AuthnRequest (HTTP-Redirect binding) and builds the
    Response a real IdP would POST back, its assertion signed with the IdP's key (or not, or with
    another key, for the tests of what must be refused). `metadata()` is its metadata document."""

    entity_id = "https://idp.example.com/saml"
    sso_url = "https://idp.example.com/saml/sso"

    def __init__(self):
        self.key_pem, self.certificate_pem = self_signed_certificate("idp.example.com")

    def metadata(self) -> bytes:
        body = OneLogin_Saml2_Utils.format_cert(self.certificate_pem, heads=False)
        return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{self.entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP}">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>
      <ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{self.sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>""".encode()

    @staticmethod
    def read_request(redirect_url: str) -> dict[str, str]:
        """The AuthnRequest the portal sent, from the URL it redirected the browser to."""
        query = {key: values[0] for key, values in parse_qs(urlsplit(redirect_url).query).items()}
        request = etree.fromstring(OneLogin_Saml2_Utils.decode_base64_and_inflate(query["SAMLRequest"]))
        return {
            "id": request.get("ID"),
            "acs_url": request.get("AssertionConsumerServiceURL"),
            "sp_entity_id": request.findtext(f"{{{SAML}}}Issuer"),
            "relay_state": query.get("RelayState", ""),
        }

    def response(
        self,
        request: dict[str, str],
        *,
        name_id: str,
        attributes: dict[str, str],
        signed_by: tuple[str, str] | str | None = "idp",
        tamper: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """The form fields the browser POSTs to the portal's ACS URL. `signed_by`: "idp" (the configured
        key), None (unsigned), or another (key PEM, certificate PEM). `tamper` rewrites attribute values
        after signing, as an attacker in the middle would."""
        now = time.time()
        instant = OneLogin_Saml2_Utils.parse_time_to_SAML(now)
        later = OneLogin_Saml2_Utils.parse_time_to_SAML(now + 300)
        earlier = OneLogin_Saml2_Utils.parse_time_to_SAML(now - 60)
        assertion_id, response_id = f"_{uuid.uuid4().hex}", f"_{uuid.uuid4().hex}"
        statements = "".join(
            f'<saml:Attribute Name={quoteattr(name)} NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
            f"<saml:AttributeValue>{escape(value)}</saml:AttributeValue></saml:Attribute>"
            for name, value in attributes.items()
        )
        assertion = f"""<saml:Assertion xmlns:saml="{SAML}" ID="{assertion_id}" Version="2.0" IssueInstant="{instant}">
<saml:Issuer>{self.entity_id}</saml:Issuer>
<saml:Subject>
<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{escape(name_id)}</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
<saml:SubjectConfirmationData NotOnOrAfter="{later}" Recipient="{request["acs_url"]}" InResponseTo="{request["id"]}"/>
</saml:SubjectConfirmation>
</saml:Subject>
<saml:Conditions NotBefore="{earlier}" NotOnOrAfter="{later}">
<saml:AudienceRestriction><saml:Audience>{request["sp_entity_id"]}</saml:Audience></saml:AudienceRestriction>
</saml:Conditions>
<saml:AuthnStatement AuthnInstant="{instant}" SessionIndex="_{uuid.uuid4().hex}">
<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>
</saml:AuthnStatement>
<saml:AttributeStatement>{statements}</saml:AttributeStatement>
</saml:Assertion>"""
        if signed_by is not None:
            key_pem, certificate_pem = (self.key_pem, self.certificate_pem) if signed_by == "idp" else signed_by
            signed = OneLogin_Saml2_Utils.add_sign(assertion, key_pem, certificate_pem)
            assertion = signed.decode() if isinstance(signed, bytes) else signed
        for original, forged in (tamper or {}).items():
            assertion = assertion.replace(escape(original), escape(forged))
        response = f"""<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{response_id}" Version="2.0"
 IssueInstant="{instant}" Destination="{request["acs_url"]}" InResponseTo="{request["id"]}">
<saml:Issuer>{self.entity_id}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
{assertion}
</samlp:Response>"""
        return {
            "SAMLResponse": base64.b64encode(response.encode()).decode(),
            "RelayState": request["relay_state"],
        }


class LocalMetadataServer(_Server):
    """Serves an IdP's metadata document over HTTP, as PORTAL_SAML_IDP_METADATA_URL expects."""

    def __init__(self, document: bytes):
        super().__init__()
        self.routes = {("GET", "/metadata"): lambda handler: (200, {"Content-Type": "application/xml"}, document)}
        self.metadata_url = f"{self.url}/metadata"


# --- configuring the portal for them, as production does: environment variables read by portal.sso_settings


def configure_oidc(settings, monkeypatch, idp: LocalOidcProvider) -> None:
    monkeypatch.setenv("PORTAL_OIDC_SERVER_URL", idp.url)
    monkeypatch.setenv("PORTAL_OIDC_CLIENT_ID", idp.client_id)
    monkeypatch.setenv("PORTAL_OIDC_CLIENT_SECRET", idp.client_secret)
    monkeypatch.setenv("PORTAL_OIDC_NAME", "Example SSO")
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [sso_settings.oidc_app()]}}


def configure_saml(settings, monkeypatch, idp: LocalSamlIdp, **variables: str) -> None:
    defaults = {
        "PORTAL_SAML_IDP_ENTITY_ID": idp.entity_id,
        "PORTAL_SAML_IDP_SSO_URL": idp.sso_url,
        "PORTAL_SAML_IDP_X509_CERT": idp.certificate_pem,
        "PORTAL_SAML_NAME": "Example SAML",
    }
    for name, value in {**defaults, **variables}.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    settings.SOCIALACCOUNT_PROVIDERS = {"saml": {"APPS": [sso_settings.saml_app()]}}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, SAML_HOST]


# --- the browser's part of each flow


def sign_in_with_oidc(client: Client, idp: LocalOidcProvider, **claims):
    """The portal's button, the IdP's sign-in page, back to the portal's callback; the last response."""
    idp.sign_in_as(**claims)
    started = client.post(reverse("openid_connect_login", kwargs={"provider_id": "idp"}))
    assert started.status_code == 302, started.content
    assert started["Location"].startswith(f"{idp.url}/authorize?")
    at_idp = http.get(started["Location"], allow_redirects=False, timeout=10)
    assert at_idp.status_code == 302, at_idp.text
    back = urlsplit(at_idp.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def start_saml_sign_in(client: Client, idp: LocalSamlIdp) -> dict[str, str]:
    """The portal's button: it sends the browser to the IdP with an AuthnRequest, returned here."""
    started = client.post(reverse("saml_login", kwargs={"organization_slug": "idp"}))
    assert started.status_code == 302, started.content
    assert started["Location"].startswith(f"{idp.sso_url}?")
    return idp.read_request(started["Location"])


def post_to_acs(client: Client, request: dict[str, str], form: dict[str, str]):
    """The browser POSTs the IdP's answer to the ACS URL, which hands over to the finishing view."""
    posted = client.post(urlsplit(request["acs_url"]).path, form)
    assert posted.status_code == 302, posted.content
    return client.get(posted["Location"])
