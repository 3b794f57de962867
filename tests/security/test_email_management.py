"""People cannot add or change their email addresses: the IAM user name follows the email, so it
comes from the HR feed, single sign-on or a governance admin."""

from allauth.account.models import EmailAddress
from django.urls import reverse

from iam.aws.identity import iam_user_name


def test_the_email_page_is_not_there(client_for, cast):
    assert reverse("account_email") == "/accounts/email/"
    assert client_for(cast.alice).get("/accounts/email/").status_code == 404


def test_adding_or_changing_an_address_changes_nothing(client_for, cast):
    client = client_for(cast.alice)
    name_before = iam_user_name(cast.alice)

    added = client.post("/accounts/email/", {"action_add": "", "email": "root@example.com"})
    made_primary = client.post("/accounts/email/", {"action_primary": "", "email": "root@example.com"})

    assert (added.status_code, made_primary.status_code) == (404, 404)
    assert not EmailAddress.objects.filter(email__iexact="root@example.com").exists()
    cast.alice.refresh_from_db()
    assert cast.alice.email == "alice@example.com"
    assert iam_user_name(cast.alice) == name_before == "alice"
