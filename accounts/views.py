"""The person's own API tokens: list, create for a device (shown once), revoke. Only one's own tokens.

Creating a token here is the way for someone whose second factor is a security key (the API's sign-in
can check only codes). Whoever has two-factor authentication proves it again before a token is made
(the step-up window), so a borrowed browser session is not enough to mint a long-lived credential.
"""

from allauth.mfa.utils import is_mfa_enabled
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import step_up_proof
from accounts.tokens import NAME_MAX, TokenError, issue_token, live_tokens, revoke_token


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label="Device or script",
        max_length=NAME_MAX,
        help_text="For example “laptop” or “ci-deploy”. A new token for the same name replaces that one.",
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )


def _page(request, *, form=None, issued=None, key=None, status=200):
    context = {
        "tokens": live_tokens(request.user),
        "form": form or NewTokenForm(),
        "issued": issued,
        "key": key,
        "days": settings.API_TOKEN_DAYS,
    }
    return render(request, "accounts/api_tokens.html", context, status=status)


@require_GET
def api_tokens(request):
    return _page(request)


@require_POST
def create_api_token(request):
    form = NewTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    if is_mfa_enabled(request.user) and not step_up_proof.has_fresh_second_factor(request):
        return step_up_proof.ask_in_page(request, "Creating an API token", back_to=reverse("accounts:api_tokens"))
    try:
        token, key = issue_token(
            person=request.user,
            name=form.cleaned_data["name"],
            second_factor=step_up_proof.has_fresh_second_factor(request),
        )
    except TokenError as refused:
        form.add_error("name", refused.message)
        return _page(request, form=form, status=refused.status)
    # Rendered, not redirected: the token is in this answer only, never in the session or a later page.
    response = _page(request, issued=token, key=key, status=201)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def revoke_api_token(request, token_id: int):
    try:
        token = revoke_token(person=request.user, token_id=token_id)
    except TokenError as refused:
        if refused.status == 404:
            raise Http404(refused.message) from None
        raise
    messages.success(request, f"The token for “{token.name}” is revoked: it no longer works.")
    return redirect("accounts:api_tokens")
