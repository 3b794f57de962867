"""The catalog console's form for one entitlement's terms: real pickers, labelled for screen readers.

It checks only the shape of what was sent (ids, numbers in range); access.services.entitlements decides.
"""

from typing import cast

from django import forms
from django.contrib.auth import get_user_model

from access.services.entitlements import MAX_OWNERS, Terms
from access.services.requests import MAX_DURATION_DAYS, MAX_DURATION_HOURS
from catalog.models import ApprovalPolicy, DurationUnit, Entitlement, Risk
from inputs.admin import IdChoiceField, IdsChoiceField


class PeopleChoice(IdsChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name or obj.email} ({obj.email})"


def owner_candidates():
    """People who may own an entitlement: those who can still sign in."""
    people = get_user_model().objects.filter(is_active=True)
    return people.exclude(employment_status=get_user_model().EmploymentStatus.LEAVER).order_by("full_name", "email")


class EntitlementTermsForm(forms.Form):
    owners = PeopleChoice(
        owner_candidates(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8, "class": "form-select"}),
        help_text="They approve requests where the policy asks owners, and review its holders. "
        "Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    risk = forms.ChoiceField(choices=Risk.choices, widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    requestable = forms.BooleanField(
        label="Requestable: people can ask for it in the catalog",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    max_duration_days = forms.IntegerField(
        label="Maximum duration (days)",
        required=False,
        min_value=1,
        max_value=MAX_DURATION_DAYS,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
        help_text="Longest a grant may last. Empty: access may be held without an end date.",
    )
    # Not required: a form sent without them (a script, an older page) keeps days from 1.
    duration_unit = forms.ChoiceField(
        label="Grants are counted in",
        choices=DurationUnit.choices,
        initial=DurationUnit.DAYS,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        help_text="Hours: just-in-time elevation for an hour or a shift, with a maximum in hours.",
    )
    min_duration = forms.IntegerField(
        label="Minimum duration (in that unit)",
        initial=1,
        required=False,
        min_value=1,
        max_value=MAX_DURATION_DAYS,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    max_duration_hours = forms.IntegerField(
        label="Maximum duration (hours)",
        required=False,
        min_value=1,
        max_value=MAX_DURATION_HOURS,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
        help_text="For grants counted in hours: the longest one, in hours. Leave the days empty.",
    )
    approval_policy = IdChoiceField(
        ApprovalPolicy.objects.order_by("name"),
        required=False,
        empty_label="The default policy for its risk level",
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="Who approves a request, stage by stage: see “What a request goes through”.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}_helptext"

    def clean_owners(self):
        owners = self.cleaned_data["owners"]
        if len(owners) > MAX_OWNERS:
            raise forms.ValidationError(f"Name at most {MAX_OWNERS} owners.")
        return owners

    def terms(self) -> Terms:
        data = self.cleaned_data
        policy = data.get("approval_policy")
        return Terms(
            owner_ids=[owner.pk for owner in data["owners"]],
            risk=data["risk"],
            requestable=data["requestable"],
            max_duration_days=data["max_duration_days"],
            approval_policy_id=policy.pk if policy else None,
            duration_unit=data["duration_unit"] or DurationUnit.DAYS,
            min_duration=data["min_duration"] or 1,
            max_duration_hours=data["max_duration_hours"],
        )

    @staticmethod
    def initial_of(entitlement: Entitlement) -> dict:
        return {
            "owners": [owner.pk for owner in entitlement.owners.all()],
            "risk": entitlement.risk,
            "requestable": entitlement.requestable,
            "max_duration_days": entitlement.max_duration_days,
            "duration_unit": entitlement.duration_unit,
            "min_duration": entitlement.min_duration,
            "max_duration_hours": entitlement.max_duration_hours,
            "approval_policy": entitlement.approval_policy_id,
        }


def departments() -> list[str]:
    """The departments people are in (from the HR feed and single sign-on), for the break-glass picker."""
    names = get_user_model().objects.exclude(department="").values_list("department", flat=True)
    return sorted(set(names.order_by().distinct()))


class BreakGlassEligibilityForm(forms.Form):
    """Who may break glass for an entitlement: people by name, and whole departments."""

    people = PeopleChoice(
        owner_candidates(),
        required=False,
        label="People who may break glass",
        widget=forms.SelectMultiple(attrs={"size": 6, "class": "form-select"}),
        help_text="They get it at once, with a reason and a ticket; its approvers review it within 24 hours. "
        "Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    departments = forms.MultipleChoiceField(
        required=False,
        label="Departments whose people may break glass",
        widget=forms.SelectMultiple(attrs={"size": 4, "class": "form-select"}),
        help_text="Everyone in these departments, as the HR feed and single sign-on keep them.",
    )

    def __init__(self, *args, chosen_departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        known = sorted(set(departments()) | set(chosen_departments))
        cast(forms.MultipleChoiceField, self.fields["departments"]).choices = [(name, name) for name in known]
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"id_{name}_helptext"
