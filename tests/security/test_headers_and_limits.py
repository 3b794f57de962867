"""Headers every page carries, and sign-in attempts limited on a real cache."""

from django.core.cache import cache
from django.urls import reverse


def test_pages_carry_a_strict_content_security_policy(client_for, cast):
    response = client_for(cast.alice).get("/")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_contain_no_inline_script(client_for, cast, sandbox):
    client = client_for(cast.erin)
    for url in [
        "/",
        "/catalog/",
        "/approvals/",
        "/access/",
        "/requests/",
        "/operations/",
        f"/operations/accounts/{sandbox.account.pk}/",
        "/audit/",
    ]:
        page = client.get(url).content.decode()
        assert "<script>" not in page and "onclick=" not in page, url


def test_repeated_failed_sign_ins_are_refused(client, cast):
    cache.clear()
    for _ in range(5):
        client.post(reverse("account_login"), {"login": "alice@example.com", "password": "wrong"})

    response = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": "correct-horse-battery-staple"}
    )

    assert response.status_code == 429 or "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    cache.clear()
