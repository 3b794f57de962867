"""`{% listed_result_list cl %}`: Django's `{% result_list cl %}` with its rows written by `audit.admin_rows`."""

from django import template

from audit.admin_rows import result_list

register = template.Library()
register.inclusion_tag("admin/change_list_results.html", name="listed_result_list")(result_list)
