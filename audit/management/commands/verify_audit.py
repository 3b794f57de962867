from django.core.management.base import BaseCommand, CommandError

from audit.verification import verify_chain


class Command(BaseCommand):
    help = "Walk the audit chain and name the first event that was edited, deleted or reordered."

    def handle(self, *args, **options):
        result = verify_chain()
        if not result.intact:
            raise CommandError(result.describe())
        self.stdout.write(self.style.SUCCESS(result.describe()))
