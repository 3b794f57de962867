"""The admin's people list writes its rows with each column worked out once a page (audit.admin_rows):
the HTML must be Django's own, cell for cell, whatever a person's name holds, with filters preserved in
each row's link. Every other list is compared too, so a list moved onto the same writer later is covered."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import results
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import resolve, reverse

from audit.admin_rows import result_list
from tests.pages.test_admin_lists import FACTORIES


def changelist(model, person, query: str = ""):
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    request = RequestFactory().get(path + query)
    request.user = person
    request.resolver_match = resolve(path)
    cl = admin.site._registry[model].get_changelist_instance(request)
    cl.formset = None  # as `changelist_view` leaves it when no column is editable
    return cl


def djangos(cl) -> list[str]:
    return ["".join(items) for items in results(cl)]


def written(cl) -> list[str]:
    return ["".join(items) for items in result_list(cl)["results"]]


@pytest.fixture
def odd_people(cast):
    """Names and departments a person or the HR feed could write, a leaver, no manager, an auditor."""
    User = get_user_model()
    User.objects.create_user(email="mallory@example.com", full_name='Mallory "<b>" & Co', department="R&D <x>")
    User.objects.create_user(email="blank@example.com", full_name="", department="   ", manager=cast.dave)
    User.objects.create_user(
        email="gone@example.com", full_name="Gone Away", employment_status="leaver", is_auditor=True
    )
    return cast


@pytest.mark.parametrize("query", ["", "?q=e", "?is_auditor__exact=1&o=2"])
def test_the_people_lists_rows_are_djangos_own(odd_people, query):
    cl = changelist(get_user_model(), odd_people.erin, query)

    assert cl.result_list, "something to compare"
    assert written(cl) == djangos(cl)
    # Each row one string: written here, not handed back to Django's cell-by-cell code.
    assert all(len(row) == 1 for row in result_list(cl)["results"])


def test_the_served_people_list_shows_djangos_rows(client_for, odd_people):
    page = client_for(odd_people.erin).get(reverse("admin:accounts_user_changelist")).content.decode()
    cl = changelist(get_user_model(), odd_people.erin)

    for row in djangos(cl):
        assert f"<tr>{row}</tr>" in page


@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_every_admin_lists_rows_written_once_a_page_are_djangos_own(cast, sandbox, label):
    model = next(model for model in admin.site._registry if model._meta.label_lower == label)
    FACTORIES[label](cast, sandbox, 3)
    cl = changelist(model, cast.erin)

    assert written(cl) == djangos(cl)


def test_the_people_list_page_is_djangos_own(client_for, odd_people, monkeypatch):
    """The whole page, not only its rows, as Django's own template writes it (the CSRF token aside)."""
    client = client_for(odd_people.erin)
    path = reverse("admin:accounts_user_changelist") + "?q=e"
    ours = client.get(path).content.decode()
    monkeypatch.setattr(admin.site._registry[get_user_model()], "change_list_template", None)
    djangos_page = client.get(path).content.decode()

    def token_aside(page: str) -> str:
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert token_aside(ours) == token_aside(djangos_page)
