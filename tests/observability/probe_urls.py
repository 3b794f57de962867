"""The portal's URLs plus one view that sends a Celery task while serving a request, as approving a
request does: used by test_request_ids to follow the request's id into the worker's log lines."""

import logging

from celery import shared_task
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

logger = logging.getLogger("tests.observability")


@shared_task(name="tests.observability.say_hello")
def say_hello(marker: str) -> None:
    logger.info("hello from the worker %s", marker)


@login_not_required
def send_a_task(request):
    logger.info("sending the task %s", request.GET["marker"])
    say_hello.delay(request.GET["marker"])
    return HttpResponse("sent")


urlpatterns = [path("__probe__/send/", send_a_task), *portal_urlpatterns]
