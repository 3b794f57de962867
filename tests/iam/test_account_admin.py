"""AWS accounts in the Django admin (break-glass): "Import … from AWS" asks for the import through the very
service of the portal's Import button (iam.catalog_import.import_runs.request_import): one run per account, audited
once, followed on the portal's progress page; its refusals come back as admin messages."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission
from django.urls import reverse

from audit.models import AuditEvent
from iam.catalog_import.import_runs import REQUESTED_ACTION, RUN_TASK
from iam.models import ImportRun
from outbox.models import OutboxMessage


@pytest.fixture
def sent():
    """The tasks queued, by name and arguments: still in the outbox, as the test's transaction never commits
    (sending them, and waiting for a broker that does not answer, is tested in tests/outbox)."""
    return lambda: list(OutboxMessage.objects.order_by("pk").values_list("task_name", "args"))


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
    assert sent() == [(RUN_TASK, [run.pk])]
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
    assert ImportRun.objects.count() == 1 and len(sent()) == 1
    assert AuditEvent.objects.filter(action=REQUESTED_ACTION).count() == 1


def test_staff_who_are_not_governance_admins_are_refused_with_the_services_words(
    client_for, sandbox, sent, django_user_model
):
    hugo = django_user_model.objects.create_user(email="hugo@example.com", full_name="Hugo Helpdesk", is_staff=True)
    hugo.user_permissions.add(*Permission.objects.filter(codename__in=["view_awsaccount", "change_awsaccount"]))
    TOTP.activate(hugo, generate_totp_secret())

    response = import_from_aws(client_for(hugo), sandbox.account)

    assert response.status_code == 200 and "Only governance admins import from AWS." in response.content.decode()
    assert not ImportRun.objects.exists() and sent() == []
    assert not AuditEvent.objects.filter(action=REQUESTED_ACTION).exists()
