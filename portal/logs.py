"""Log lines that say which request (or task) and which person they belong to.

Every line carries `request_id` and `user_id`. The request id is django-guid's: taken from the
request's X-Request-ID when it is a UUID, else generated, and echoed in the response's X-Request-ID.
django-guid's Celery integration puts it in the headers of every task sent while serving the request
(`before_task_publish`) and sets it again in the worker before the task runs (`task_prerun`), so a
worker's lines carry the id of the request that caused them; a task beat started gets an id of its own.
In a worker, lines also name the task (`task_name`, `task_id`).

PORTAL_LOG_FORMAT=json writes one JSON object a line (production's default); text is for people.
"""

import logging
from contextvars import ContextVar

from celery import current_task
from django_guid import clear_guid, get_guid
from pythonjsonlogger.json import JsonFormatter

from portal.redaction import redact

# The request being served on this thread, for the user id of its log lines.
current_request: ContextVar = ContextVar("portal_current_request", default=None)


def _user_id() -> int | None:
    request = current_request.get()
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


class RequestContext(logging.Filter):
    """Adds request_id, user_id and, in a worker, task_name and task_id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_guid()
        record.user_id = _user_id()
        if current_task:
            record.task_name, record.task_id = current_task.name, current_task.request.id
        return True


class JsonLines(JsonFormatter):
    """One JSON object a line. Tracebacks are formatted anew from the exception, past the redacting
    filter's copy (portal.redaction.RedactSecrets), so they are masked here as well."""

    def formatException(self, ei) -> str:
        return redact(_one_string(super().formatException(ei)))

    def formatStack(self, stack_info: str) -> str:
        return redact(_one_string(super().formatStack(stack_info)))


def _one_string(text: str | list[str]) -> str:
    # JsonFormatter answers a list of lines only when told to (exc_info_as_array, stack_info_as_array),
    # which the portal's LOGGING never does.
    return text if isinstance(text, str) else "\n".join(text)


class LogContextMiddleware:
    """Remembers the request for its log lines' user id until it is finished (`forget_request`), which
    also covers the lines Django writes after the middleware, such as "Not Found". Placed after
    authentication: the user is looked up here, once, so that writing a log line never queries the
    database. An API call's user, authenticated later by REST framework, replaces it on the same request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _ = request.user.is_authenticated
        current_request.set(request)
        return self.get_response(request)


def forget_request(**kwargs) -> None:
    """On request_finished: the thread's next lines belong to no request until another one starts."""
    current_request.set(None)
    clear_guid()
