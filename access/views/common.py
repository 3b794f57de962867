from django.core.paginator import Paginator

PAGE_SIZE = 25


def page_of(request, rows, size: int = PAGE_SIZE):
    return Paginator(rows, size).get_page(request.GET.get("page"))


def show_refusal(form, exc) -> int:
    """Put a service's refusal on the form (on its field when the form has one) and return its status."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return exc.status
