"""The admin list of review lines' results, its rows written by `reviews.admin_rows`."""

from django import template
from django.contrib.admin.templatetags.admin_list import result_headers, result_hidden_fields
from django.contrib.admin.templatetags.base import InclusionAdminNode

from reviews.admin_rows import rows

register = template.Library()


def review_line_results(cl) -> dict:
    """What Django's `result_list` gives the admin's `change_list_results.html`, the rows from `rows`."""
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": list(rows(cl)),
    }


@register.tag(name="review_line_results")
def review_line_results_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=review_line_results, template_name="change_list_results.html", takes_context=False
    )
