"""Governance → SoD rules: the list, a rule's page, and its form with a live check of the IAM actions and
a dry run of the rule as typed, before it is saved.

Governance admins create, change, enable and disable rules; auditors read the list and the rules' pages
(every POST of theirs is refused); anyone else gets 403. What a rule means is decided in sod.rules and
judged by sod.scan: these views only carry the form there and show the answer.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import is_governance_admin, reads_everything
from inputs.refusals import NotFound, Refusal, StaleState
from sod import rules, scan, selectors
from sod.action_names import MAX_ACTION_LENGTH, MAX_ACTIONS, problems_with, split_lines
from sod.forms import ACTIONS_TEXT_LENGTH, RuleForm
from sod.models import SodRule

PAGE_SIZE = 25
DRY_RUN_SHOWN = 50


def _readers_only(request) -> None:
    if not reads_everything(request.user):
        raise PermissionDenied


def _admins_only(request) -> None:
    if not is_governance_admin(request.user):
        raise PermissionDenied


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
def rules_list(request):
    """Every rule by name, with its open violations: two queries a page."""
    _readers_only(request)
    search = request.GET.get("q", "").strip()[:150]
    page = Paginator(selectors.rules_listed(search), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": search,
        "query": urlencode({"q": search}) if search else "",
        "can_change": is_governance_admin(request.user),
    }
    return render(request, "sod/rules.html", context)


@require_GET
def rule_detail(request, rule_id):
    _readers_only(request)
    rule = get_object_or_404(selectors.rules_listed().prefetch_related("set_a", "set_b"), pk=rule_id)
    return render(request, "sod/rule.html", {"rule": rule, "can_change": is_governance_admin(request.user)})


def _save(request, form: RuleForm, rule: SodRule | None, context: dict):
    """Save through sod.rules; a refusal goes back on the form with its words and nothing is kept."""
    try:
        saved = rules.save_rule(actor=request.user, rule=rule, **form.rule_fields())
    except Refusal as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return render(request, "sod/rule_form.html", context, status=exc.status)
    messages.success(request, f"{saved.name} is saved{'' if saved.enabled else ' (disabled)'}.")
    return redirect("sod:rule", rule_id=saved.pk)


@require_http_methods(["GET", "POST"])
def rule_new(request):
    _admins_only(request)
    initial = {"kind": SodRule.Kind.ENTITLEMENTS, "enforcement": SodRule.Enforcement.BLOCK, "severity": "high"}
    form = RuleForm(request.POST or None, initial=initial | {"owner": request.user.pk, "enabled": False})
    context = {"form": form}
    if request.method == "POST":
        if form.is_valid():
            return _save(request, form, None, context)
        return render(request, "sod/rule_form.html", context, status=400)
    return render(request, "sod/rule_form.html", context)


@require_http_methods(["GET", "POST"])
def rule_edit(request, rule_id):
    _admins_only(request)
    rule = get_object_or_404(SodRule.objects.prefetch_related("set_a", "set_b"), pk=rule_id)
    form = RuleForm(request.POST or None, initial=RuleForm.initial_of(rule))
    context = {"form": form, "rule": rule}
    if request.method == "POST":
        if form.is_valid():
            return _save(request, form, rule, context)
        return render(request, "sod/rule_form.html", context, status=400)
    return render(request, "sod/rule_form.html", context)


@require_POST
def rule_enabled(request, rule_id):
    """Switch a rule on or off from its page (the button says which)."""
    _admins_only(request)
    wanted = request.POST.get("enabled")
    if wanted not in ("true", "false"):
        get_object_or_404(SodRule, pk=rule_id)  # an unknown rule is not found, whatever was posted
        messages.error(request, "Say whether the rule is to be enabled or disabled.")
        return redirect("sod:rule", rule_id=rule_id)
    try:
        rule = rules.set_rule_enabled(actor=request.user, rule_id=rule_id, enabled=wanted == "true")
    except NotFound:
        raise Http404("No such rule.") from None
    except StaleState as exc:
        messages.info(request, exc.message)
        return redirect("sod:rule", rule_id=rule_id)
    if rule.enabled:
        messages.success(request, f"{rule.name} is enabled: requests are checked against it from now on.")
    else:
        messages.success(request, f"{rule.name} is disabled: requests are no longer checked against it.")
    return redirect("sod:rule", rule_id=rule.pk)


@require_GET
def check_actions(request):
    """The live check under the actions box (htmx, as one types): each problem in words, or what is fine."""
    _admins_only(request)
    text = request.GET.get("actions", "")
    if len(text) > ACTIONS_TEXT_LENGTH:
        problems = [f"That is more than {MAX_ACTIONS} actions of at most {MAX_ACTION_LENGTH} characters each."]
        actions = []
    else:
        actions = split_lines(text)
        problems = problems_with(actions) if actions else []
    return render(request, "sod/_action_check.html", {"actions": actions, "problems": problems})


@require_POST
def dry_run(request):
    """Who the rule as typed on the form would flag now, without saving it (htmx puts it under the form)."""
    _admins_only(request)
    form = RuleForm(request.POST)
    result, problems = None, []
    if form.is_valid():
        try:
            fields = form.rule_fields()
            result = scan.who_would_violate(
                rules.rule_view_of(fields["fields"], fields["set_a"], fields["set_b"]), DRY_RUN_SHOWN
            )
        except Refusal as exc:
            problems = [exc.message]
    else:
        problems = [f"{_label(form, field)}: {' '.join(map(str, errors))}" for field, errors in form.errors.items()]
    context = {"result": result, "problems": problems}
    if _is_htmx(request):
        return render(request, "sod/_dry_run.html", context)
    # Without htmx the form comes back whole, with the dry run under it.
    return render(request, "sod/rule_form.html", context | {"form": form}, status=400 if problems else 200)


def _label(form, field: str) -> str:
    return form[field].label if field in form.fields else "The rule"
