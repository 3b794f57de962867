"""Telling rule owners when a separation-of-duties exception they approved has ended."""

from django.urls import reverse

from notifications import wording
from notifications.models import Notification
from notifications.services.recipients import active, create
from sod.models import SodException


def notify_sod_exception_expired(exception_id: int) -> list[int]:
    """The rule owner and the approver of the exception (once each) learn that the violation is open again."""
    exception = SodException.objects.select_related("rule", "user").filter(pk=exception_id).first()
    if exception is None or exception.expired_at is None:
        return []
    people = active({exception.rule.owner_id, exception.approved_by_id})
    text = wording.sod_exception_expired(exception)
    # No column names the exception, so its words (rule, person, end date, control) stand for it: a retry
    # tells nobody twice, while a later exception of the same rule and person is still announced.
    told = set(
        Notification.objects.filter(
            kind=Notification.Kind.SOD_EXCEPTION_EXPIRED, title=text.title, body=text.body
        ).values_list("recipient_id", flat=True)
    )
    return create(
        Notification.Kind.SOD_EXCEPTION_EXPIRED,
        reverse("sod:violations"),
        {pk: text for pk in people if pk not in told},
    )
