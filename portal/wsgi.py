import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: the settings a production server must not start with are refused here.
from portal.checks import refuse_to_start_misconfigured  # noqa: E402

refuse_to_start_misconfigured()
