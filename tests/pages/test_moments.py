"""A moment's "... ago" is written by the page's `Moments`, which translates each unit's words once per page
rather than once per moment: it must say exactly what Django's naturaltime says, in every language and zone."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone, translation

from access.templatetags.moments import Moments

# Each a whole number of seconds and a half from now, so the microseconds between naturaltime's clock and
# the page's never carry a moment over a minute's edge.
AGO = [
    timedelta(seconds=30.5),
    timedelta(minutes=5, seconds=30.5),
    timedelta(hours=3, minutes=1, seconds=30.5),
    timedelta(days=1, seconds=30.5),
    timedelta(days=1, hours=3, seconds=30.5),
    timedelta(days=6, hours=23, seconds=30.5),
    timedelta(days=13, hours=5, seconds=30.5),
    timedelta(days=40, hours=1, seconds=30.5),
    timedelta(days=75, seconds=30.5),
    timedelta(days=340, hours=7, seconds=30.5),
    timedelta(days=400, seconds=30.5),
    timedelta(days=1200, hours=2, seconds=30.5),
    -timedelta(minutes=5, seconds=30.5),
    -timedelta(days=2, hours=4, seconds=30.5),
]


@pytest.mark.parametrize("language", ["en-us", "de", "fr", "ja"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"])
def test_a_page_says_of_each_moment_what_naturaltime_says(language, zone):
    with translation.override(language), timezone.override(zone):
        moments = Moments()
        for ago in AGO:
            local = timezone.localtime(datetime.now(UTC) - ago)

            assert moments.in_words(local) == naturaltime(local), ago


def test_the_same_count_of_a_unit_is_said_the_same_way_twice_on_a_page():
    moments = Moments()
    two_days = timezone.localtime(datetime.now(UTC) - timedelta(days=2, hours=1, seconds=30.5))

    assert moments.in_words(two_days) == moments.in_words(two_days) == "2\xa0days, 1\xa0hour ago"
