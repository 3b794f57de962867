"""Import from AWS on the catalog console: asking for an import (iam.catalog_import.import_runs.request_import), the
worker's run with its progress (iam.catalog_import.import_runs.run_import, task iam.run_import) and the pages that
follow it."""

from datetime import timedelta
from unittest import mock

import pytest
from botocore.stub import Stubber
from celery import current_app
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from audit.models import AuditEvent
from catalog.models import Entitlement
from iam import tasks
from iam.aws import gateway
from iam.aws.gateway import account_access
from iam.catalog_import import import_runs, importer
from iam.models import ImportRun
from inputs.refusals import NotAllowed
from outbox.models import OutboxMessage
from outbox.relay import relay
from sod.models import EntitlementPermissions
from tests.iam.test_importer import existing_aws  # noqa: F401 (one of each kind in the simulated account)


def queued() -> list[tuple[str, list]]:
    """The tasks queued, by name and arguments: still in the outbox, as the test's transaction never commits
    (sending them is tested in tests/outbox)."""
    return list(OutboxMessage.objects.order_by("pk").values_list("task_name", "args"))


def start(client, account):
    return client.post(reverse("iam:start_import", args=[account.pk]))


def test_asking_for_an_import_queues_it_and_audits_the_request(cast, sandbox):
    run, started = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)

    assert started and (run.status, run.requested_by, run.steps_total) == ("queued", cast.erin, 4)
    assert queued() == [("iam.run_import", [run.pk])]
    event = AuditEvent.objects.get(action="catalog.import_requested")
    assert (event.actor, event.after) == (cast.erin, {"import_run": run.pk})


def test_a_second_click_follows_the_import_already_under_way(cast, sandbox):
    first, _ = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)
    second, started = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)

    assert (second.pk, started) == (first.pk, False)
    assert len(queued()) == 1


def test_an_import_its_worker_never_finished_does_not_block_the_next(cast, sandbox):
    lost, _ = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)
    ImportRun.objects.filter(pk=lost.pk).update(requested_at=timezone.now() - import_runs.STALE_AFTER - timedelta(1))

    fresh, started = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)

    assert started and fresh.pk != lost.pk
    lost.refresh_from_db()
    assert lost.status == "failed" and "given up" in lost.error


@pytest.mark.parametrize("who", ["alice", "carol", "frank"])
def test_only_governance_admins_import(cast, sandbox, who):
    with pytest.raises(NotAllowed):
        import_runs.request_import(account_id=sandbox.account.pk, actor=getattr(cast, who))
    assert not ImportRun.objects.exists() and queued() == []


def test_a_broker_that_does_not_answer_leaves_the_import_waiting_not_failed(
    client_for, cast, sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    refused = mock.Mock(side_effect=OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused."))
    monkeypatch.setattr(current_app, "send_task", refused)

    with django_capture_on_commit_callbacks(execute=True):
        response = start(client_for(cast.erin), sandbox.account)
    run = ImportRun.objects.get()
    page = client_for(cast.erin).get(response.url)

    assert response.status_code == 302 and response.url == reverse("iam:import_run", args=[run.pk])
    assert run.status == "queued" and b"Waiting for a worker" in page.content
    assert refused.call_count == 1 and queued() == [("iam.run_import", [run.pk])]
    # The broker is back: the relay sends what waited, and the page goes on as for any import.
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args=(), **options: sent.append((name, args)))
    assert relay(now=timezone.now() + timedelta(minutes=5)) == 1
    assert sent == [("iam.run_import", [run.pk])] and queued() == []


def test_the_worker_imports_with_progress_and_a_summary(cast, sandbox, existing_aws, monkeypatch):  # noqa: F811
    run, _ = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)
    seen, real = [], importer.import_entitlements

    def watched(account, *, actor, progress, saved):
        def page():
            seen.append(ImportRun.objects.values_list("status", "steps_done", "found", "step").get(pk=run.pk))

        def told(what, count):
            progress(what, count)
            page()

        def stored(done, total):
            saved(done, total)
            page()

        return real(account, actor=actor, progress=told, saved=stored, batch=4)

    monkeypatch.setattr(importer, "import_entitlements", watched)
    tasks.run_import.apply(args=[run.pk]).get()

    assert seen == [  # what the page showed while it ran, kind by kind, then batch by batch
        ("running", 1, 3, "Found 3 IAM groups"),
        ("running", 2, 4, "Found 1 managed policy"),
        ("running", 3, 5, "Found 1 IAM role"),
        ("running", 4, 6, "Found 1 permission set"),
        ("running", 4, 6, "Read the policies of 4 of 6 and saved them"),
        ("running", 4, 6, "Read the policies of 6 of 6 and saved them"),
    ]
    run.refresh_from_db()
    assert (run.status, run.steps_done, run.steps_total) == ("succeeded", 5, 5)  # four kinds, then the saving
    assert (run.found, run.created, run.already_present, run.skipped) == (6, 4, 2, 1)
    assert (run.unreadable, run.unreadable_names) == (0, [])
    assert Entitlement.objects.filter(requestable=False, owners=cast.erin).count() == 5  # BreakGlass and 4 new
    # What each entitlement allows was read with it, for separation of duties: nothing is left to queue.
    assert EntitlementPermissions.objects.count() == 6
    assert not EntitlementPermissions.objects.exclude(error="", unreadable="").exists()
    assert [name for name, _ in queued() if name == "iam.fetch_permissions"] == []


def test_a_finished_run_is_not_run_again(cast, sandbox):
    run, _ = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)
    ImportRun.objects.filter(pk=run.pk).update(status="succeeded")
    assert import_runs.run_import(run.pk) is None


def test_access_denied_is_said_in_plain_words(cast, sandbox, moto_server, fresh_clients):
    run, _ = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)
    client = gateway.iam_client(account_access(sandbox.account))
    with Stubber(client) as stub:
        stub.add_client_error("list_groups", "AccessDenied", "User portal is not authorized to iam:ListGroups", 403)
        import_runs.run_import(run.pk)

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith("The portal is not allowed to list this account's IAM (access denied).")
    assert "iam:ListGroups" in run.error
    assert not Entitlement.objects.exclude(pk__in=[e.pk for e in sandbox.all]).exists()


def test_aws_not_answering_is_retried_then_said_in_plain_words(cast, sandbox, moto_server, fresh_clients):
    run, _ = import_runs.request_import(account_id=sandbox.account.pk, actor=cast.erin)
    client = gateway.iam_client(account_access(sandbox.account))
    with Stubber(client) as stub:
        stub.add_client_error("list_groups", "ServiceUnavailable", "Try later", 503)
        with pytest.raises(Exception, match="Try later"):
            import_runs.run_import(run.pk, last_attempt=False)
        assert ImportRun.objects.get(pk=run.pk).status == "running"
        stub.add_client_error("list_groups", "ServiceUnavailable", "Try later", 503)
        import_runs.run_import(run.pk, last_attempt=True)

    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("AWS did not answer in time, even after retrying.")


# --- pages ------------------------------------------------------------------------------------------


def test_the_import_page_has_a_button_per_account_for_admins_only(client_for, cast, sandbox):
    admin_page = client_for(cast.erin).get(reverse("iam:imports"))
    auditor_page = client_for(cast.frank).get(reverse("iam:imports"))

    assert b"Import from Sandbox" in admin_page.content
    assert auditor_page.status_code == 200 and b"Import from Sandbox" not in auditor_page.content
    assert client_for(cast.alice).get(reverse("iam:imports")).status_code == 403


def test_starting_an_import_leads_to_its_progress_page_which_polls_until_done(client_for, cast, sandbox):
    client = client_for(cast.erin)
    response = start(client, sandbox.account)
    run = ImportRun.objects.get()
    assert response.url == reverse("iam:import_run", args=[run.pk])

    waiting = client.get(response.url)
    assert b"Waiting for a worker" in waiting.content and b'hx-trigger="every 1s"' in waiting.content
    ImportRun.objects.filter(pk=run.pk).update(status="running", steps_done=2, found=4, step="Found 1 managed policy")
    fragment = client.get(response.url, HTTP_HX_REQUEST="true")
    assert b'data-progress="2/4"' in fragment.content and b"4 found so far" in fragment.content
    assert b"<html" not in fragment.content
    ImportRun.objects.filter(pk=run.pk).update(status="succeeded", steps_done=4, created=3, already_present=1)
    done = client.get(response.url, HTTP_HX_REQUEST="true")
    assert b"Import finished" in done.content and b"hx-trigger" not in done.content


def test_people_who_are_not_governance_admins_cannot_start_an_import(client_for, cast, sandbox):
    for person in (cast.alice, cast.carol, cast.frank):
        assert start(client_for(person), sandbox.account).status_code == 403
    assert client_for(cast.erin).get(reverse("iam:start_import", args=[sandbox.account.pk])).status_code == 405
    assert not ImportRun.objects.exists() and queued() == []
