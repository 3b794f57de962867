"""Each log line says which request it belongs to and who made it, in the web server and in the worker.

The request id comes from the caller's X-Request-ID when it is a UUID (a load balancer's or a client's),
else it is made up; either way the response returns it. Tasks sent while serving the request carry it
to the worker, whose lines for that task then show the same id.
"""

import json
import logging
import time
import uuid

import pytest
from django.conf import settings
from django.test import Client

from portal.logs import JsonLines, RequestContext
from portal.redaction import RedactSecrets
from tests.observability import probe_urls

# Its task is registered now, before the session's worker starts (a worker knows only the tasks it started with).
assert probe_urls.say_hello

CALLER_ID = "5f0c6a3e-4b1d-4c8e-9f2a-7d3b1e6a9c40"


def test_the_callers_request_id_is_kept_and_returned(client, db):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID=CALLER_ID)

    assert response["X-Request-ID"] == CALLER_ID


@pytest.mark.parametrize("sent", [None, "not-a-uuid", "5f0c6a3e\r\nSet-Cookie: x=1", "x" * 5000])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(client, db, sent):
    headers = {"HTTP_X_REQUEST_ID": sent} if sent else {}

    response = client.get("/accounts/login/", **headers)

    assert response.status_code == 200
    assert len(response["X-Request-ID"]) == 32
    assert int(response["X-Request-ID"], 16) >= 0
    assert response["X-Request-ID"] != sent


def test_a_signed_in_persons_lines_carry_the_request_id_and_their_id(cast, client_for, log_lines):
    response = client_for(cast.alice).get("/no-such-page/", HTTP_X_REQUEST_ID=CALLER_ID)

    assert response.status_code == 404
    (line,) = log_lines.saying("Not Found: /no-such-page/")
    assert (line.request_id, line.user_id) == (CALLER_ID, cast.alice.pk)


def test_an_anonymous_requests_lines_have_no_user(client, log_lines):
    client.get("/no-such-page/", HTTP_X_REQUEST_ID=CALLER_ID)

    (line,) = log_lines.saying("Not Found: /no-such-page/")
    assert (line.request_id, line.user_id) == (CALLER_ID, None)


def test_json_lines_name_the_request_and_mask_secrets_in_tracebacks(cast, client_for, settings):
    """PORTAL_LOG_FORMAT=json, production's default: one object a line, tracebacks masked too."""
    written = []
    handler = logging.Handler()
    handler.emit = lambda record: written.append(handler.format(record))
    options = {key: value for key, value in settings.LOGGING["formatters"]["json"].items() if key != "()"}
    handler.setFormatter(JsonLines(**options))
    handler.addFilter(RequestContext())
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    try:
        try:
            raise ConnectionError(f"could not sign with {settings.SECRET_KEY}")
        except ConnectionError:
            logger.exception("the signer failed")
    finally:
        logger.removeHandler(handler)

    (line,) = [json.loads(text) for text in written]
    assert line["level"] == "ERROR"
    assert line["logger"] == "tests.observability"
    assert line["message"] == "the signer failed"
    assert {"time", "request_id", "user_id"} <= line.keys()
    assert "ConnectionError: could not sign with ********" in line["exc_info"]
    assert settings.SECRET_KEY not in written[0]


@pytest.mark.django_db(transaction=True)
def test_a_task_sent_during_a_request_logs_in_the_worker_with_the_requests_id(celery_worker, settings, log_lines):
    settings.ROOT_URLCONF = probe_urls.__name__
    marker = uuid.uuid4().hex

    response = Client().get(f"/__probe__/send/?marker={marker}", HTTP_X_REQUEST_ID=CALLER_ID)

    assert response.status_code == 200
    deadline = time.monotonic() + 60
    while not log_lines.saying(f"hello from the worker {marker}") and time.monotonic() < deadline:
        time.sleep(0.1)
    (sent,) = log_lines.saying(f"sending the task {marker}")
    (ran,) = log_lines.saying(f"hello from the worker {marker}")
    assert sent.request_id == ran.request_id == CALLER_ID
    assert ran.task_name == "tests.observability.say_hello"
    assert ran.task_id


def test_lines_outside_any_request_or_task_have_no_ids(log_lines):
    from django_guid import clear_guid

    clear_guid()
    logging.getLogger("tests.observability").info("nothing to do with a request")

    (line,) = log_lines.saying("nothing to do with a request")
    assert (line.request_id, line.user_id) == (None, None)
    assert not hasattr(line, "task_name") or settings.DEBUG
