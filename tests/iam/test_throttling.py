"""AWS throttles: many grants at once slow down to the rate AWS allows instead of exhausting their retries.

The simulated AWS here answers `Throttling` (as IAM does) to every call beyond RATE per second. Eight
sync threads at once ask for far more than that. (With botocore's standard mode, about one grant in six
ran out of attempts and was handed back to the queue.) With botocore's adaptive retry mode, the account's
client starts limiting itself at the first throttle and finds the allowed rate: every grant is applied
on its first claim, none handed back for having run out of attempts.
"""

import collections
import threading
import time

import pytest
from django.db import connection
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from access.models import Grant
from iam.apply import sync
from iam.aws import gateway
from iam.models import IamPrincipal

RATE = 8  # calls per second the simulated account allows
THREADS, PEOPLE, BATCH = 8, 64, 4
THROTTLED = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"
)


class ThrottlingMoto:
    """A moto server that answers Throttling to calls beyond RATE in any one-second window."""

    def __init__(self, rate: int):
        self.rate, self.answered, self.throttled = rate, collections.deque(), 0
        self._lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", 0, self._limit(app), threaded=True, request_handler=MotoRequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _limit(self, app):
        def limited(environ, start_response):
            if not environ.get("PATH_INFO", "").startswith("/moto-api"):
                now = time.monotonic()
                with self._lock:
                    while self.answered and self.answered[0] < now - 1:
                        self.answered.popleft()
                    over = len(self.answered) >= self.rate
                    if over:
                        self.throttled += 1
                    else:
                        self.answered.append(now)
                if over:
                    start_response("400 Bad Request", [("Content-Type", "text/xml")])
                    return [THROTTLED]
            return app(environ, start_response)

        return limited

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


@pytest.fixture
def throttling_aws(settings, sandbox):
    server = ThrottlingMoto(RATE)
    settings.AWS_ENDPOINT_URL = server.url
    sandbox.account.create_iam_users = True
    sandbox.account.save(update_fields=["create_iam_users"])
    access = gateway.account_access(sandbox.account)
    slow = RATE  # set up below the limit, so only the sync meets it
    server.rate = 10_000
    gateway.ensure_group(access, "Developers")
    server.rate = slow
    yield server
    server.stop()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_syncs_at_once_against_a_throttling_account_apply_every_grant_first_time(
    cast, sandbox, throttling_aws, django_user_model
):
    people = [
        django_user_model.objects.create_user(email=f"eng{n}@example.com", full_name=f"Eng {n}", manager=cast.bob)
        for n in range(PEOPLE)
    ]
    # Approved earlier, waiting for the sync: rows as the approval leaves them, no message sent.
    grants = Grant.objects.bulk_create(
        [Grant(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN) for person in people]
    )
    shares = [grants[index::THREADS] for index in range(THREADS)]
    start, errors = threading.Barrier(THREADS), []

    def work(share):
        try:
            start.wait()
            for grant in share:
                sync.sync_batch(grant.pk, batch=BATCH)
        except Exception as exc:  # reported below, with the thread's other failures
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)

    assert not errors
    # A batch that filled up woke another worker for the rest (the session's, when it runs): let it finish.
    deadline = time.monotonic() + 300
    waiting = Grant.objects.filter(sync_state__in=[Grant.SyncState.PENDING, Grant.SyncState.IN_PROGRESS])
    while waiting.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    states = collections.Counter(Grant.objects.values_list("sync_state", "sync_attempts"))
    assert states == {("applied", 1): PEOPLE}, f"every grant applied on its first claim: {states}"
    assert throttling_aws.throttled > 0, "the account did throttle: the test asked for more than it allows"
    assert IamPrincipal.objects.filter(account=sandbox.account).count() == PEOPLE
