"""A sync batch applies several people's grants at once, and each person's one after the other.

AWS is watched at the server: a second HTTP front on the same simulated AWS (moto keeps one state
per process) sees every request with the IAM user it is about. Its first two AddUserToGroup calls
are held at a barrier until both are in flight, which only happens if two grants are applied at
once; had they been applied one after the other, the first would wait alone until the barrier
breaks and the test fails.
"""

import io
import threading
import urllib.parse
from collections import Counter

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from access import services
from access.models import Grant
from catalog.models import Entitlement
from iam.apply import sync
from iam.aws import gateway
from tests.iam.conftest import GOOD_REASON

BARRIER_SECONDS = 60  # generous: the machine is busy; two calls at once meet within milliseconds


class WatchedAws:
    """moto behind a front that counts, per IAM user, the calls in flight at once."""

    def __init__(self):
        self.barrier = threading.Barrier(2, timeout=BARRIER_SECONDS)
        self.met, self.broken, self.held = 0, 0, 0
        self.in_flight: Counter = Counter()
        self.most_at_once: Counter = Counter()
        self.lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)
        self.server = make_server("127.0.0.1", 0, self._watch(app), threaded=True, request_handler=MotoRequestHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _watch(self, app):
        def watched(environ, start_response):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = urllib.parse.parse_qs(body.decode(errors="replace"))
            user, action = form.get("UserName", [""])[0], form.get("Action", [""])[0]
            with self.lock:
                self.in_flight[user] += 1
                self.most_at_once[user] = max(self.most_at_once[user], self.in_flight[user])
                hold = action == "AddUserToGroup" and self.held < 2
                self.held += hold
            try:
                if hold:
                    self._meet()
                return app(environ, start_response)
            finally:
                with self.lock:
                    self.in_flight[user] -= 1

        return watched

    def _meet(self) -> None:
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            with self.lock:
                self.broken += 1
            return
        with self.lock:
            self.met += 1

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def watched_aws(aws, settings, fresh_clients):
    watched = WatchedAws()
    settings.AWS_ENDPOINT_URL = watched.url
    yield watched
    watched.stop()


@pytest.fixture
def three_groups(aws, sandbox, aws_direct, entitlement_of):
    for name in ("Deployers", "Readers"):
        aws_direct("iam").create_group(GroupName=name)
    return [
        sandbox.developers,
        entitlement_of(Entitlement.Kind.IAM_GROUP, "Deployers"),
        entitlement_of(Entitlement.Kind.IAM_GROUP, "Readers"),
    ]


def granted(cast, person, entitlement) -> Grant:
    services.grant_by_admin(actor=cast.erin, user=person, entitlement=entitlement, justification=GOOD_REASON)
    return Grant.objects.get(user=person, entitlement=entitlement)


@pytest.mark.django_db
def test_alice_and_bobs_grants_are_applied_at_once_each_persons_one_after_the_other(
    cast, three_groups, watched_aws, aws_direct, settings
):
    settings.GRANT_SYNC_THREADS = 4
    grants = [granted(cast, person, group) for person in (cast.alice, cast.bob) for group in three_groups]

    with gateway.counting_calls() as calls:
        outcomes = sync.sync_batch(grants[0].pk, batch=10)

    assert [outcome.result for outcome in outcomes] == ["applied"] * 6
    assert (watched_aws.met, watched_aws.broken) == (2, 0)  # two grants were in flight at once
    assert watched_aws.most_at_once["alice"] == watched_aws.most_at_once["bob"] == 1
    assert calls.calls == 6 * 2  # counted from the threads too: the change and its read-back per grant
    for person in ("alice", "bob"):
        groups = aws_direct("iam").list_groups_for_user(UserName=person)["Groups"]
        assert {group["GroupName"] for group in groups} == {"Developers", "Deployers", "Readers"}


@pytest.mark.django_db
def test_with_one_thread_the_batch_applies_one_grant_after_the_other(cast, three_groups, watched_aws, settings):
    settings.GRANT_SYNC_THREADS = 1
    watched_aws.barrier = threading.Barrier(2, timeout=1)  # nobody comes: each held call waits alone
    grants = [granted(cast, person, three_groups[0]) for person in (cast.alice, cast.bob)]

    outcomes = sync.sync_batch(grants[0].pk, batch=10)

    assert [outcome.result for outcome in outcomes] == ["applied"] * 2
    assert (watched_aws.met, watched_aws.broken) == (0, 2)
