"""The rule form of the portal: pickers for the entitlement sets and the owner, IAM actions one a line.

It checks the shape of what was typed (the actions with the words sod.action_names gives, the same the
live check shows); sod.rules decides and saves.
"""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse

from catalog.models import Entitlement
from inputs.admin import IdChoiceField, IdsChoiceField
from sod.action_names import MAX_ACTION_LENGTH, MAX_ACTIONS, problems_with, split_lines
from sod.models import SodRule

# Room for every action a rule may name, each as long as it may be, one a line.
ACTIONS_TEXT_LENGTH = MAX_ACTIONS * (MAX_ACTION_LENGTH + 2)


class OwnerChoice(IdChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name or obj.email} ({obj.email})"


class EntitlementsChoice(IdsChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.account.name}, {obj.get_kind_display()})"


def _entitlements():
    return Entitlement.objects.select_related("account").order_by("name", "account__name")


class RuleForm(forms.Form):
    name = forms.CharField(max_length=150)
    why = forms.CharField(
        label="Description",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What could go wrong if one person held both: requesters see these words.",
    )
    kind = forms.ChoiceField(label="What the rule compares", choices=SodRule.Kind.choices, widget=forms.RadioSelect)
    set_a = EntitlementsChoice(
        _entitlements(),
        label="Set A",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Holding any of these with any of set B breaks the rule. Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    set_b = EntitlementsChoice(
        _entitlements(),
        label="Set B",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    actions = forms.CharField(
        label="IAM actions, one a line",
        required=False,
        max_length=ACTIONS_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "off"}),
        help_text="One a line, such as iam:PassRole and lambda:CreateFunction: the rule is broken by anyone "
        "whose policies allow all of them.",
    )
    enforcement = forms.ChoiceField(label="Mode", choices=SodRule.Enforcement.choices, widget=forms.RadioSelect)
    severity = forms.ChoiceField(choices=SodRule.Severity.choices)
    owner = OwnerChoice(
        get_user_model().objects.filter(is_active=True).order_by("full_name", "email"),
        label="Rule owner",
        help_text="Approves exceptions, and is told when one ends.",
    )
    enabled = forms.BooleanField(label="Enabled: the rule is checked at every request and scan", required=False)
    detect_in_activity = forms.BooleanField(
        label="Also flag people who did all of it (from CloudTrail)",
        required=False,
        help_text="Permission rules: when a grant's activity is read, a person who called every one of these "
        "actions inside the grant's window is recorded as a finding, with the CloudTrail event ids.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, (forms.RadioSelect, forms.CheckboxInput)):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")
            if field.help_text:
                widget.attrs.setdefault("aria-describedby", f"id_{name}_helptext")
        # The live check: htmx sends the box as it is typed and puts the answer under it.
        self.fields["actions"].widget.attrs.update(
            {
                "hx-get": reverse("sod:rule_check_actions"),
                "hx-trigger": "input changed delay:300ms, load",
                "hx-target": "#id_actions_check",
                "aria-describedby": "id_actions_helptext id_actions_check",
            }
        )

    def clean_actions(self):
        return split_lines(self.cleaned_data.get("actions", ""))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns, typed as such
        if data.get("kind") == SodRule.Kind.PERMISSIONS and "actions" in data:
            for problem in problems_with(data["actions"]):
                self.add_error("actions", problem)
        return data

    def rule_fields(self) -> dict:
        """What sod.rules takes: the rule's own fields (actions only for a permission rule), and its sets."""
        data = dict(self.cleaned_data)
        set_a, set_b = list(data.pop("set_a", [])), list(data.pop("set_b", []))
        if data.get("kind") == SodRule.Kind.PERMISSIONS:
            set_a, set_b = [], []
        else:
            data["actions"] = []
            data["detect_in_activity"] = False  # only actions can be seen being done
        return {"fields": data, "set_a": set_a, "set_b": set_b}

    @classmethod
    def initial_of(cls, rule: SodRule) -> dict:
        return {
            "name": rule.name,
            "why": rule.why,
            "kind": rule.kind,
            "set_a": [e.pk for e in rule.set_a.all()],
            "set_b": [e.pk for e in rule.set_b.all()],
            "actions": "\n".join(rule.actions or []),
            "enforcement": rule.enforcement,
            "severity": rule.severity,
            "owner": rule.owner_id,
            "enabled": rule.enabled,
            "detect_in_activity": rule.detect_in_activity,
        }
