"""The campaign form of the portal: real pickers for every part of the scope, labelled for screen readers.

It only validates the shape of what was typed; reviews.services.save_draft decides and saves.
"""

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model

from catalog.models import AwsAccount, Entitlement, Risk
from inputs.admin import IdChoiceField, IdsChoiceField
from reviews.models import Campaign

REPEATS = [(0, "Once"), (3, "Every quarter"), (6, "Every six months"), (12, "Every year")]


def _people():
    return get_user_model().objects.filter(is_active=True).order_by("full_name", "email")


class PersonChoice(IdChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name or obj.email} ({obj.email})"


class PeopleChoice(IdsChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name or obj.email} ({obj.email})"


class EntitlementsChoice(IdsChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.account.name}, {obj.get_kind_display()}, {obj.get_risk_display()} risk)"


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=150)
    due_at = forms.DateTimeField(
        label="Due date",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Reviewers decide by then; the undecided rule applies at sign-off.",
    )
    accounts = IdsChoiceField(
        AwsAccount.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every account.",
    )
    entitlements = EntitlementsChoice(
        Entitlement.objects.select_related("account").order_by("account__name", "name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="None chosen: every entitlement. Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    kinds = forms.MultipleChoiceField(
        label="Kinds of access",
        choices=Entitlement.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )
    risks = forms.MultipleChoiceField(
        label="Risk levels",
        choices=Risk.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every risk level.",
    )
    departments = forms.MultipleChoiceField(
        label="Holders' departments",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: everyone. Unmanaged access of no portal person is left out when some are ticked.",
    )
    reviewer_type = forms.ChoiceField(
        label="First reviewer", choices=Campaign.ReviewerType.choices, widget=forms.RadioSelect
    )
    named_reviewers = PeopleChoice(
        _people(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Only for named reviewers. Nobody reviews their own access.",
    )
    second_stage = forms.BooleanField(
        label="Second stage: an owner of the entitlement confirms each line the first reviewer keeps",
        required=False,
    )
    fallback_reviewer = PersonChoice(
        _people(),
        required=False,
        empty_label="The campaign owner",
        help_text="Reviews the lines nobody else can (no manager, no other owner). Someone must also "
        "review the fallback's own access: the owner, or the owner's manager.",
    )
    undecided = forms.ChoiceField(
        label="Lines still undecided at sign-off", choices=Campaign.Undecided.choices, widget=forms.RadioSelect
    )
    remind_days_before = forms.IntegerField(
        label="Remind reviewers from (days before the due date)", min_value=0, max_value=90, initial=3
    )
    escalate_days_before = forms.IntegerField(
        label="Escalate to their managers from (days before the due date)", min_value=0, max_value=90, initial=1
    )
    repeat_months = forms.TypedChoiceField(
        label="Repeat",
        choices=REPEATS,
        coerce=int,
        initial=0,
        help_text="A repeating campaign is a template: on each run date a copy with the same scope is launched.",
    )
    review_days = forms.IntegerField(label="Days reviewers get in each repeat", min_value=1, max_value=180, initial=14)
    next_run_at = forms.DateTimeField(
        label="Next repeat on",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Empty: one repeat period from now.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        departments = (
            get_user_model()
            .objects.exclude(department="")
            .order_by("department")
            .values_list("department", flat=True)
            .distinct()
        )
        # `fields` holds plain Fields for the stubs: this one is the MultipleChoiceField declared above.
        cast(forms.MultipleChoiceField, self.fields["departments"]).choices = [(name, name) for name in departments]
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect, forms.CheckboxInput)):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")
            if field.help_text:
                widget.attrs.setdefault("aria-describedby", f"id_{name}_helptext")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("second_stage") and data.get("reviewer_type") == Campaign.ReviewerType.OWNER:
            self.add_error(
                "second_stage",
                "The second stage is the owner's: choose the manager or named reviewers for the first stage.",
            )
        if data.get("reviewer_type") == Campaign.ReviewerType.NAMED and not data.get("named_reviewers"):
            self.add_error("named_reviewers", "Name at least one reviewer.")
        return data

    @classmethod
    def initial_of(cls, campaign: Campaign) -> dict:
        initial = {
            name: getattr(campaign, name)
            for name in cls.base_fields
            if name not in ("accounts", "entitlements", "named_reviewers", "fallback_reviewer")
        }
        initial["fallback_reviewer"] = campaign.fallback_reviewer_id
        for name in ("accounts", "entitlements", "named_reviewers"):
            initial[name] = list(getattr(campaign, name).values_list("pk", flat=True))
        return initial
