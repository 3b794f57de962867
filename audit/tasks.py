from celery import shared_task

from audit.verification import run_check


@shared_task(name="audit.check_chain", acks_late=True)
def check_chain(check_id: int) -> None:
    run_check(check_id)
