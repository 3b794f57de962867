"""Governance → Operations → AWS Organizations: the OU tree, which OUs are governed, each account's state."""

from collections.abc import Sequence

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts import roles
from catalog.models import AwsAccount, OrganizationalUnit, OrganizationConnection, OrgStatus
from iam.facts import organizations


def _tree(units: Sequence[OrganizationalUnit], governed: set[int]) -> list[dict]:
    """Nested dicts, children by name: what the template renders as nested lists."""
    children: dict[int | None, list[OrganizationalUnit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)

    def node(unit):
        return {
            "unit": unit,
            "inherited": unit.pk in governed and not unit.governed,
            "children": [node(child) for child in sorted(children.get(unit.pk, []), key=lambda u: u.name)],
        }

    return [node(root) for root in children.get(None, [])]


@require_GET
def organization(request):
    if not roles.reads_everything(request.user):
        raise PermissionDenied
    units = list(
        OrganizationalUnit.objects.annotate(
            active=Count("accounts", filter=Q(accounts__status=OrgStatus.ACTIVE)),
            closed=Count("accounts", filter=~Q(accounts__status=OrgStatus.ACTIVE)),
        )
    )
    accounts = AwsAccount.objects.exclude(org_status="").order_by("connection_state", "name")
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    by_pk: dict[int | None, OrganizationalUnit] = {unit.pk: unit for unit in units}
    for account in page:
        # The OU's path from the units already read, not a query per parent per row.
        names, unit = [], by_pk.get(account.ou_id)
        while unit is not None:
            names.append(unit.name)
            unit = by_pk.get(unit.parent_id)
        # Shown by the template beside the account; not a field of the model.
        account.ou_path = " / ".join(reversed(names))  # type: ignore[attr-defined]
    context = {
        "connection": OrganizationConnection.objects.first(),
        "tree": _tree(units, organizations.governed_unit_ids()),
        "accounts": page,
        "changes": roles.is_governance_admin(request.user),
    }
    return render(request, "iam/organization.html", context)


@require_POST
def govern(request):
    if not roles.is_governance_admin(request.user):
        raise PermissionDenied
    try:
        newly = organizations.set_governed_ous(actor=request.user, ou_ids=set(request.POST.getlist("ou")))
    except organizations.NotConnected as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Governed OUs saved; {len(newly)} new account(s) governed.")
    return redirect("iam:organization")
