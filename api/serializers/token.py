"""Trading an email address and password (and, for whoever has one, an authenticator code) for an API token.

A token would otherwise be a way round the second factor the pages demand: someone with an
authenticator app gives its current code too, and a person who decides on access but has not set
up a second factor yet gets no token until they have (accounts.mfa).
"""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import authenticate
from rest_framework import serializers

from accounts.mfa import ENROL_MESSAGE, meets_mfa_policy

CODE_NEEDED = "Give the current code from your authenticator app in `code`: your account has two-factor authentication."


class TokenLoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"}, write_only=True)
    code = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="The authenticator app's current code; required when the account has one.",
    )

    def validate(self, attrs):
        # The same backends as the login page, so an inactive person gets no token either.
        user = authenticate(self.context.get("request"), email=attrs["email"], password=attrs["password"])
        if user is None:
            raise serializers.ValidationError(
                "Unable to log in with that email address and password.", code="authorization"
            )
        app = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        if app is not None:
            code = attrs.get("code", "").strip()
            if not code:
                raise serializers.ValidationError({"code": CODE_NEEDED}, code="mfa_code_required")
            if not TOTP(app).validate_code(code):
                raise serializers.ValidationError({"code": "That code is not the one your app shows now."})
        elif not meets_mfa_policy(user):
            raise serializers.ValidationError(ENROL_MESSAGE, code="mfa_required")
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, help_text="After this, ask for a new token.")
