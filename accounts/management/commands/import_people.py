import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import hr_feed
from accounts.models import FeedRun


class Command(BaseCommand):
    help = (
        "Apply the HR feed: a CSV with columns email, full_name, title, department, manager_email, status "
        "(active or leaver). Joiners are created, movers updated, leavers lose all access. Every row is checked "
        "first; with any problem nothing changes. The rows are then applied in batches, each committed with the "
        "run's progress (Django admin: HR feed runs): if the run stops half-way, run the same file again and it "
        "carries on from the last batch. People missing from the file are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file", type=Path)
        parser.add_argument(
            "--batch-size", type=int, default=hr_feed.BATCH_SIZE, help="Rows per transaction (default %(default)s)."
        )

    def handle(self, *args, csv_file: Path, batch_size: int, **options):
        if not csv_file.is_file():
            raise CommandError(f"No such file: {csv_file}")
        if not 1 <= batch_size <= 5000:
            raise CommandError("--batch-size must be between 1 and 5000.")
        raw = csv_file.read_bytes()
        try:
            records = hr_feed.parse(hr_feed.decode(raw, name=str(csv_file)))
        except hr_feed.FeedError as exc:
            raise CommandError("Nothing was changed:\n  " + "\n  ".join(exc.problems)) from None
        run, resumed = hr_feed.open_run(
            records,
            file_digest=hr_feed.digest(raw),
            file_name=str(csv_file),
            requested_label=f"manage.py import_people ({_os_user()})",
        )
        if resumed:
            self.stdout.write(
                f"Carrying on the run of this file started {run.started_at:%Y-%m-%d %H:%M:%S}: "
                f"{run.rows_applied:,} of {run.total_rows:,} rows were already applied."
            )
        shown = [run.percent // 10]

        def progress(current: FeedRun) -> None:
            # A line each tenth of the file: enough to see it move, not a line per batch.
            if current.percent // 10 != shown[0]:
                shown[0] = current.percent // 10
                self.stdout.write(f"  {current.rows_applied:,} of {current.total_rows:,} rows applied")

        try:
            result = hr_feed.apply(records, run, batch_size=batch_size, progress=progress)
        except hr_feed.FeedError as exc:
            raise CommandError("\n  ".join(exc.problems)) from None
        run.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(f"{run.joined} joined, {run.moved} moved, {run.left} left, {run.unchanged} unchanged.")
        )
        for email in result.left:
            self.stdout.write(f"  leaver: {email} (all access is being removed from AWS)")


def _os_user() -> str:
    """Who ran the command, as the operating system knows them: the command has no portal user."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown user"
