"""Drift in the Django admin: governance admins see the runs and the register, and adopt from it."""

from django.urls import reverse

from access.models import Grant
from iam.models import UnmanagedAccess
from iam.reconcile import reconcile


def test_an_admin_adopts_drift_from_the_register(aws, aws_direct, sandbox, cast, client_for):
    aws_direct("iam").add_user_to_group(GroupName="Developers", UserName="alice")
    reconcile.reconcile_account(sandbox.account.pk)
    row = UnmanagedAccess.objects.get()
    client = client_for(cast.erin)

    listing = client.get(reverse("admin:iam_unmanagedaccess_changelist"))
    runs = client.get(reverse("admin:iam_reconcilerun_changelist"))
    response = client.post(
        reverse("admin:iam_unmanagedaccess_changelist"),
        {"action": "adopt", "_selected_action": [row.pk]},
        follow=True,
    )

    assert listing.status_code == 200 and "Developers" in listing.content.decode()
    assert runs.status_code == 200
    assert "is now a grant from import" in response.content.decode()
    row.refresh_from_db()
    assert row.state == "adopted"
    assert Grant.objects.get().source == "import"


def test_people_who_are_not_staff_cannot_reach_the_register(aws, sandbox, cast, client_for):
    response = client_for(cast.alice).get(reverse("admin:iam_unmanagedaccess_changelist"))

    assert response.status_code == 302 and "/login/" in response.url


def test_admin_cannot_adopt_own_unmanaged_access(aws, aws_direct, sandbox, cast, client_for, django_user_model):
    """Erin put herself in Developers directly in AWS: adopting it would be approving her own access."""
    import pytest

    from audit.models import AuditEvent
    from iam.reconcile import drift_actions
    from inputs.refusals import NotAllowed

    aws_direct("iam").add_user_to_group(GroupName="Developers", UserName="erin")
    reconcile.reconcile_account(sandbox.account.pk)
    row = UnmanagedAccess.objects.get()
    assert row.person == cast.erin
    events = AuditEvent.objects.count()
    client = client_for(cast.erin)

    page = client.post(reverse("iam:adopt", args=[row.pk]))
    admin = client.post(
        reverse("admin:iam_unmanagedaccess_changelist"), {"action": "adopt", "_selected_action": [row.pk]}, follow=True
    )
    with pytest.raises(NotAllowed, match="cannot adopt your own access"):
        drift_actions.adopt(row.pk, cast.erin)
    connected = drift_actions.connect_account(sandbox.account.pk, cast.erin.pk)

    assert page.status_code == 403
    assert "cannot adopt your own access" in admin.content.decode()
    assert (connected.adopted, connected.left_open) == (0, 1)
    row.refresh_from_db()
    assert row.state == "open" and not Grant.objects.exists()
    assert not AuditEvent.objects.filter(pk__gt=events, action__in=["grant.adopted", "drift.adopted"]).exists()

    grace = django_user_model.objects.create_user(email="grace@example.com", full_name="Grace Admin", is_superuser=True)
    drift_actions.adopt(row.pk, grace)
    assert Grant.objects.get().user == cast.erin, "another governance admin decides on it"
