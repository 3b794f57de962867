from celery import shared_task

from audit.anchoring import anchor_chain as write_anchor
from audit.verification import run_check


@shared_task(name="audit.check_chain", acks_late=True)
def check_chain(check_id: int) -> None:
    run_check(check_id)


@shared_task(name="audit.anchor_chain", acks_late=True)
def anchor_chain() -> int | None:
    """Beat: a signed digest of the chain's head, outside the database (nothing when the head has not moved)."""
    digest = write_anchor()
    return digest.seq if digest else None
