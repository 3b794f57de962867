from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People"

    def ready(self):
        # Connects the sign-in hook that settles, once per sign-in, whether the person must enrol a
        # second factor (the middleware alone would connect it only when first imported), the receivers
        # that revoke a person's API tokens when they are deactivated or lose a role, and those that write
        # sign-ins and second-factor changes to the audit trail.
        from accounts import auth_events, mfa, tokens  # noqa: F401
        from accounts.audit_names import register_names

        register_names()  # how the audit log names people
