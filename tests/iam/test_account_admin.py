"""AWS accounts in the Django admin (break-glass): "Import … from AWS" asks for the import through the very
service of the portal's Import button (iam.imports.request_import): one run per account, audited once,
followed on the portal's progress page; its refusals come back as admin messages."""

from unittest import mock

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from celery import current_app
from django.contrib.auth.models import Permission
from django.urls import reverse
from kombu.exceptions import OperationalError

from audit.models import AuditEvent
from iam.imports import REQUESTED_ACTION, RUN_TASK
from iam.models import ImportRun


@pytest.fixture
def sent(monkeypatch):
    """The tasks sent to the broker, by name and arguments."""
    messages = []
    monkeypatch.setattr(
        current_app, "send_task", lambda name, args=(), kwargs=None, **options: messages.append((name, list(args)))
    )
    return messages


def import_from_aws(client, *accounts):
    return client.post(
        reverse("admin:catalog_awsaccount_changelist"),
        {"action": "import_entitlements", "_selected_action": [account.pk for account in accounts]},
        follow=True,
    )


def test_the_admin_asks_for_an_import_as_the_import_button_does(client_for, cast, sandbox, sent):
    response = import_from_aws(client_for(cast.erin), sandbox.account)

    run = ImportRun.objects.get()
    assert (run.account, run.requested_by, run.status) == (sandbox.account, cast.erin, "queued")
    assert sent == [(RUN_TASK, [run.pk])]
    [event] = AuditEvent.objects.filter(action=REQUESTED_ACTION)
    assert (event.actor, event.after) == (cast.erin, {"import_run": run.pk})
    page = response.content.decode()
    assert response.status_code == 200 and "Importing from Sandbox" in page
    assert f'href="{reverse("iam:import_run", args=[run.pk])}"' in page, "followed on the portal's progress page"


def test_a_second_import_follows_the_one_under_way(client_for, cast, sandbox, sent):
    client = client_for(cast.erin)
    import_from_aws(client, sandbox.account)

    response = import_from_aws(client, sandbox.account)

    assert "already under way" in response.content.decode()
    assert ImportRun.objects.count() == 1 and len(sent) == 1
    assert AuditEvent.objects.filter(action=REQUESTED_ACTION).count() == 1


def test_a_broker_that_does_not_answer_is_an_admin_message(client_for, cast, sandbox, monkeypatch):
    refused = mock.Mock(side_effect=OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused."))
    monkeypatch.setattr(current_app, "send_task", refused)

    response = import_from_aws(client_for(cast.erin), sandbox.account)

    assert response.status_code == 200
    assert "the portal&#x27;s task queue did not answer" in response.content.decode()
    assert ImportRun.objects.get().status == "failed"


def test_staff_who_are_not_governance_admins_are_refused_with_the_services_words(
    client_for, sandbox, sent, django_user_model
):
    hugo = django_user_model.objects.create_user(email="hugo@example.com", full_name="Hugo Helpdesk", is_staff=True)
    hugo.user_permissions.add(*Permission.objects.filter(codename__in=["view_awsaccount", "change_awsaccount"]))
    TOTP.activate(hugo, generate_totp_secret())

    response = import_from_aws(client_for(hugo), sandbox.account)

    assert response.status_code == 200 and "Only governance admins import from AWS." in response.content.decode()
    assert not ImportRun.objects.exists() and sent == []
    assert not AuditEvent.objects.filter(action=REQUESTED_ACTION).exists()
