"""A campaign's lines through the API in keyset pages (issue 21): Bob reviews 60 people's access, a page
of 50 at a time by holder name; Erin, a governance admin, reads every line in snapshot order; nobody's
page costs more queries for being deeper, and a forged cursor is a 404, never a server error."""

from base64 import b64encode
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.models import Grant
from accounts import hr_feed
from accounts.models import User
from accounts.services import PersonRecord, upsert_person
from reviews import services
from reviews.models import Campaign, ReviewItem

ITEMS = "/api/reviews/campaigns/{}/items/"


def team_of_bob(cast, count: int, start: int = 0) -> list[User]:
    """`count` people who report to Bob, each holding Developers; named so their order is known."""
    people = [
        User.objects.create_user(
            email=f"holder{number}@example.com", password=None, full_name=f"Holder {number:02d}", manager=cast.bob
        )
        for number in range(start, start + count)
    ]
    return people


def launched(cast) -> Campaign:
    draft = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return services.launch(campaign_id=draft.pk, actor=cast.erin)


@pytest.fixture
def sixty(cast, sandbox):
    for person in team_of_bob(cast, 60):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    return launched(cast)


def walk(client, url) -> tuple[list[dict], list[int]]:
    """Every page from `url` on, following `next`: the lines and the queries each page took."""
    lines, queries = [], []
    while url:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body  # keyset pages count nothing
        lines += body["results"]
        queries.append(len(captured))
        url = body["next"]
    return lines, queries


def test_a_reviewer_pages_through_their_lines_by_holder_name(api_for, cast, sixty):
    lines, queries = walk(api_for(cast.bob), ITEMS.format(sixty.pk))

    names = [line["holder"] for line in lines]
    assert names == [f"holder{number}@example.com" for number in range(60)]
    assert len(queries) == 2 and queries[0] == queries[1]


def test_an_admin_pages_through_every_line_in_snapshot_order(api_for, cast, sixty):
    lines, queries = walk(api_for(cast.erin), ITEMS.format(sixty.pk))

    ids = [line["id"] for line in lines]
    assert ids == sorted(ReviewItem.objects.filter(campaign=sixty).values_list("pk", flat=True))
    assert len(set(queries)) == 1


def test_the_previous_link_leads_back_to_the_first_page(api_for, cast, sixty):
    client = api_for(cast.bob)
    first = client.get(ITEMS.format(sixty.pk)).json()
    second = client.get(first["next"]).json()

    back = client.get(second["previous"]).json()

    assert [line["id"] for line in back["results"]] == [line["id"] for line in first["results"]]
    assert (len(second["results"]), second["next"], first["previous"]) == (10, None, None)


def test_a_reviewer_asks_for_their_undecided_lines_only(api_for, cast, sixty):
    first_two = ReviewItem.objects.filter(campaign=sixty, reviewer=cast.bob).order_by("holder_name")[:2]
    services.decide(
        campaign_id=sixty.pk, item_ids=[line.pk for line in first_two], actor=cast.bob, decision="keep", comment=""
    )

    lines, _ = walk(api_for(cast.bob), ITEMS.format(sixty.pk) + "?decision=undecided")

    assert [line["holder"] for line in lines] == [f"holder{number}@example.com" for number in range(2, 60)]


def test_a_page_of_thirty_lines_takes_the_queries_of_a_page_of_three(api_for, cast, sandbox):
    for person in team_of_bob(cast, 3):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    small = launched(cast)
    _, small_queries = walk(api_for(cast.bob), ITEMS.format(small.pk))
    for person in team_of_bob(cast, 27, start=3):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    big = launched(cast)

    lines, big_queries = walk(api_for(cast.bob), ITEMS.format(big.pk))

    assert len(lines) == 30 and big_queries == small_queries


def test_a_renamed_holder_moves_in_the_reviewers_order(api_for, cast, sixty, django_capture_on_commit_callbacks):
    holder = User.objects.get(email="holder59@example.com")
    record = PersonRecord(
        email=holder.email, full_name="Aaron First", title="", department="", manager_email="", status="active"
    )

    with django_capture_on_commit_callbacks(execute=True):
        upsert_person(data=record, manager=cast.bob, actor=None, actor_label="HR feed")
    first = api_for(cast.bob).get(ITEMS.format(sixty.pk)).json()["results"][0]

    assert first["holder"] == "holder59@example.com"
    assert ReviewItem.objects.get(campaign=sixty, holder=holder).holder_name == "Aaron First"


def test_a_holder_renamed_by_the_hr_feed_in_bulk_moves_in_the_reviewers_order(
    cast, sixty, django_capture_on_commit_callbacks
):
    holder = User.objects.get(email="holder59@example.com")
    text = "email,full_name,title,department,manager_email,status\n"
    text += f"{holder.email},Aaron First,,,{cast.bob.email},active\n"
    records = hr_feed.parse(hr_feed.decode(text.encode()))
    run, _ = hr_feed.open_run(records, file_digest=hr_feed.digest(text.encode()), requested_label="test")

    with django_capture_on_commit_callbacks(execute=True):
        hr_feed.apply(records, run)

    assert ReviewItem.objects.get(campaign=sixty, holder=holder).holder_name == "Aaron First"


def test_a_closed_campaign_keeps_the_name_it_was_reviewed_under(cast, sixty, django_capture_on_commit_callbacks):
    holder = User.objects.get(email="holder0@example.com")
    Campaign.objects.filter(pk=sixty.pk).update(state=Campaign.State.CLOSED)
    record = PersonRecord(
        email=holder.email, full_name="Someone Else", title="", department="", manager_email="", status="active"
    )

    with django_capture_on_commit_callbacks(execute=True):
        upsert_person(data=record, manager=cast.bob, actor=None, actor_label="HR feed")

    assert ReviewItem.objects.get(campaign=sixty, holder=holder).holder_name == "Holder 00"


def _cursor(text: str) -> str:
    return b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("bob", "cursor=not-base64!"),
        ("erin", "cursor=" + _cursor("p=abc")),  # an id that is no number
        ("erin", "cursor=" + _cursor("p=" + "9" * 40)),  # an id past 64 bits
        ("bob", "cursor=" + _cursor("p=a%00b")),  # a NUL, which PostgreSQL refuses in text
        ("bob", "cursor=" + _cursor("o=-1")),
    ],
)
def test_a_forged_cursor_is_refused_as_invalid(api_for, cast, sixty, who, query):
    response = api_for(getattr(cast, who)).get(f"{ITEMS.format(sixty.pk)}?{query}")

    assert (response.status_code, response.json()["detail"]) == (404, "Invalid cursor")


def test_an_unknown_decision_is_refused_with_the_choices(api_for, cast, sixty):
    response = api_for(cast.bob).get(ITEMS.format(sixty.pk) + "?decision=maybe")

    assert response.status_code == 400
    assert "undecided" in str(response.json())
