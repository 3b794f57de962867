"""Trading an email address and password for an API token."""

from django.contrib.auth import authenticate
from rest_framework import serializers


class TokenLoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"}, write_only=True)

    def validate(self, attrs):
        # The same backends as the login page, so an inactive person gets no token either.
        user = authenticate(self.context.get("request"), email=attrs["email"], password=attrs["password"])
        if user is None:
            raise serializers.ValidationError(
                "Unable to log in with that email address and password.", code="authorization"
            )
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
