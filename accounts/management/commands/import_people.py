from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import hr_feed


class Command(BaseCommand):
    help = (
        "Apply the HR feed: a CSV with columns email, full_name, title, department, manager_email, status "
        "(active or leaver). Joiners are created, movers updated, leavers lose all access. Every row is checked "
        "first; with any problem nothing changes. People missing from the file are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file", type=Path)

    def handle(self, *args, csv_file: Path, **options):
        if not csv_file.is_file():
            raise CommandError(f"No such file: {csv_file}")
        try:
            records = hr_feed.parse(hr_feed.decode(csv_file.read_bytes(), name=str(csv_file)))
            result = hr_feed.apply(records)
        except hr_feed.FeedError as exc:
            raise CommandError("Nothing was changed:\n  " + "\n  ".join(exc.problems)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result.joined)} joined, {len(result.moved)} moved, {len(result.left)} left, "
                f"{result.unchanged} unchanged."
            )
        )
        for email in result.left:
            self.stdout.write(f"  leaver: {email} (all access is being removed from AWS)")
