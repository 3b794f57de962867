from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People"

    def ready(self):
        # Connects the sign-in hook that settles, once per sign-in, whether the person must enrol a
        # second factor (the middleware alone would connect it only when first imported).
        from accounts import auth_events, mfa  # noqa: F401  (sign-ins and second-factor changes in the trail)
