"""The notifications page: my own notifications only, newest first, and marking them all read."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Notification

LIST = reverse("notifications:list")
MARK_ALL_READ = reverse("notifications:mark_all_read")


def flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("url", [LIST, MARK_ALL_READ])
def test_anonymous_visitors_are_sent_to_sign_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_list_shows_only_my_notifications(cast, client_for, make_notifications):
    make_notifications(cast.alice, 2)
    make_notifications(cast.bob, 1)

    page = client_for(cast.bob).get(LIST).content.decode()

    assert "Notice 0 for Bob Manager" in page
    assert "for Alice Engineer" not in page

    page = client_for(cast.alice).get(LIST).content.decode()
    assert "Notice 0 for Alice Engineer" in page and "Notice 1 for Alice Engineer" in page
    assert "for Bob Manager" not in page


def test_list_is_newest_first_with_unread_highlighted_and_linked(cast, client_for, make_notifications):
    old, new = make_notifications(cast.alice, 2)[::-1]
    Notification.objects.filter(pk=old.pk).update(read_at=new.created_at)

    response = client_for(cast.alice).get(LIST)

    shown = list(response.context["page"])
    assert shown == [new, old]
    page = response.content.decode()
    assert page.index(new.title) < page.index(old.title)
    assert page.count("list-group-item-primary") == 1, "only the unread one is highlighted"
    assert '<a href="/access/"' in page
    assert response.context["unread"] == 1


def test_list_is_paginated_by_25(cast, client_for, make_notifications):
    make_notifications(cast.alice, 30)
    client = client_for(cast.alice)

    first, second = client.get(LIST), client.get(LIST, {"page": 2})

    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 5
    assert "Page 1 of 2" in first.content.decode()


def test_list_runs_the_same_queries_for_3_or_40_notifications(
    cast, client_for, make_notifications, django_assert_max_num_queries
):
    client = client_for(cast.alice)
    make_notifications(cast.alice, 3)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)

    make_notifications(cast.alice, 37)
    with django_assert_max_num_queries(len(few)):
        client.get(LIST)


def test_mark_all_read_refuses_get(cast, client_for, make_notifications):
    make_notifications(cast.alice, 1)

    response = client_for(cast.alice).get(MARK_ALL_READ)

    assert response.status_code == 405
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_mark_all_read_marks_only_mine_and_says_so(cast, client_for, make_notifications):
    make_notifications(cast.alice, 2)
    make_notifications(cast.bob, 1)

    response = client_for(cast.alice).post(MARK_ALL_READ, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert flashes(response) == ["Marked 2 notifications as read."]
    assert not Notification.objects.filter(recipient=cast.alice, read_at__isnull=True).exists()
    assert Notification.objects.get(recipient=cast.bob).read_at is None
    assert "list-group-item-primary" not in response.content.decode()


def test_mark_all_read_goes_back_to_the_page_it_was_on_but_not_off_site(cast, client_for, make_notifications):
    make_notifications(cast.alice, 30)
    client = client_for(cast.alice)

    assert client.post(MARK_ALL_READ, {"next": f"{LIST}?page=2"}).url == f"{LIST}?page=2"
    assert client.post(MARK_ALL_READ, {"next": "https://evil.example.com/"}).url == LIST


def test_mark_all_read_without_csrf_token_is_refused(cast, make_notifications):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    make_notifications(cast.alice, 1)

    assert client.post(MARK_ALL_READ).status_code == 403
    assert Notification.objects.get().read_at is None


def test_the_bell_counts_to_99_and_then_says_99_plus(cast, client_for, make_notifications):
    """A badge's number stops at 99: the bar counts at most 100 unread notifications on every page."""
    make_notifications(cast.alice, 99)
    home = client_for(cast.alice).get(reverse("home")).content.decode()
    assert "Notifications: 99 unread" in home and ">99<" in home

    make_notifications(cast.alice, 2)
    home = client_for(cast.alice).get(reverse("home"))
    assert home.context["nav_notifications_unread"] == 100  # counted up to the cap and one more
    assert "Notifications: more than 99 unread" in home.content.decode() and ">99+<" in home.content.decode()
