"""Trading an email address, a password and (for whoever has two-factor authentication) a code for an
API token for one named device. How the credentials are checked: accounts.api_sign_in."""

from rest_framework import serializers

from accounts.tokens import NAME_MAX

DEFAULT_DEVICE = "api"


class TokenLoginSerializer(serializers.Serializer):
    # Plain strings, not validated shapes: a malformed address is refused like any wrong one, by the sign-in.
    email = serializers.CharField(max_length=254, trim_whitespace=True)
    password = serializers.CharField(
        max_length=4096, allow_blank=True, trim_whitespace=False, style={"input_type": "password"}, write_only=True
    )
    code = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        help_text="The authenticator app's current code, or a recovery code; required when the account has "
        "two-factor authentication.",
    )
    name = serializers.CharField(
        max_length=NAME_MAX,
        required=False,
        default=DEFAULT_DEVICE,
        help_text="The device or script that will hold the token. A new token for the same name replaces "
        "that device's previous one.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Shown only now: the portal keeps only its hash.")
    name = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, help_text="After this, ask for a new token.")
