from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from django.core.signals import request_finished

        from portal import checks  # noqa: F401 - registers the portal's system checks
        from portal.logs import forget_request

        request_finished.connect(forget_request, dispatch_uid="portal.logs.forget_request")
