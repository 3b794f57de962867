"""Drift in the Django admin: governance admins see the runs and the register, and adopt from it."""

from django.urls import reverse

from access.models import Grant
from iam import reconcile
from iam.models import UnmanagedAccess


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
