"""`manage.py scim_token Okta`: a bearer token for an identity provider's SCIM connection, shown once."""

from django.core.management.base import BaseCommand, CommandError

from scim.tokens import issue_token


class Command(BaseCommand):
    help = "Issue (or replace) the SCIM bearer token of an identity provider. The token is printed once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The identity provider, as the audit trail will name it (Okta, Entra).")

    def handle(self, *args, name, **options):
        name = name.strip()
        if not name or len(name) > 100 or "\x00" in name:
            raise CommandError("Give the identity provider a name of 1 to 100 characters.")
        provider, token = issue_token(name=name, actor=None, actor_label="system:scim_token command")
        self.stdout.write(f"SCIM token for {provider.name} (shown once; any earlier token of it stops working):")
        self.stdout.write(token)
