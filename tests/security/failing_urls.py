"""The portal's URLs plus one view that fails while holding secrets, as code talking to AWS or the
database might: used by test_secrets_in_logs to see what a failure leaves in logs and emails."""

import os

from django.conf import settings
from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def fail_while_holding_secrets(request):
    database_password = settings.DATABASES["default"]["PASSWORD"]
    broker_url = settings.CELERY_BROKER_URL
    credentials = {
        "AccessKeyId": "AKIAEXAMPLEEXAMPLE00",
        "SecretAccessKey": os.environ["AWS_SECRET_ACCESS_KEY"],
        "SessionToken": os.environ["AWS_SESSION_TOKEN"],
    }
    connection_url = f"postgresql://portal:{database_password}@db.internal:5432/portal"
    signing_key = settings.SECRET_KEY
    # Some drivers repeat the URL they could not reach, password and all, in their error message.
    raise ConnectionError(
        f"could not connect to {connection_url} (broker {broker_url}, {len(credentials)} credentials, "
        f"key {signing_key[:0]}{signing_key})"
    )


urlpatterns = [path("__probe__/fail/", fail_while_holding_secrets, name="probe_fail"), *portal_urlpatterns]
