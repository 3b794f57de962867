from django.core.management.base import BaseCommand, CommandError

from audit.chain import find_first_break
from audit.models import AuditChainHead, AuditEvent


class Command(BaseCommand):
    help = "Walk the audit chain and name the first event that was edited, deleted or reordered."

    def handle(self, *args, **options):
        head = AuditChainHead.objects.filter(id=1).first()
        head_seq, head_hash = (head.last_seq, head.last_hash) if head else (0, "")
        events = AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)
        broken = find_first_break(events, head_seq, head_hash)
        if broken:
            where = f"event #{broken.seq}" + (f" (row id {broken.event_id})" if broken.event_id else "")
            raise CommandError(f"Audit chain broken at {where}: {broken.reason}.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {head_seq} events verified."))
