from datetime import UTC, datetime, time

from django import forms
from django.contrib.auth import get_user_model

from access.services import break_glass as glass
from access.services.requests import MIN_JUSTIFICATION
from access.services.sod_checks import ExceptionTerms

DURATION_STEPS = [1, 3, 7, 14, 30, 90, 180, 365]
HOUR_STEPS = [1, 2, 4, 8, 12, 24]


class StyledForm(forms.Form):
    """Gives each widget Bootstrap's classes when it is rendered, so templates use `_field.html`.

    Done per bound field rather than in __init__ because subclasses add their fields there.
    """

    def __getitem__(self, name):
        widget = self.fields[name].widget
        base = "form-select" if isinstance(widget, forms.Select) else "form-control"
        invalid = " is-invalid" if self.is_bound and name in self.errors else ""
        widget.attrs["class"] = base + invalid
        return super().__getitem__(name)


NO_END = ""


def duration_choices(max_days: int | None, *, unit: str = "days", minimum: int = 1) -> list[tuple[str, str]]:
    """Durations a person may pick for an entitlement: from its minimum up to its maximum, or open-ended
    without one. In its unit: days, or hours for just-in-time elevation."""
    singular = unit.removesuffix("s")
    ladder = HOUR_STEPS if unit == "hours" else DURATION_STEPS
    steps = [step for step in ladder if minimum <= step and (max_days is None or step < max_days)]
    if minimum not in steps and (max_days is None or minimum < max_days):
        steps.insert(0, minimum)
    if max_days is not None:
        steps.append(max_days)
    choices = [(str(step), f"{step} {singular if step == 1 else unit}") for step in steps]
    if max_days is None:
        choices.insert(0, (NO_END, "No end date"))
    return choices


def duration_initial(max_days: int | None) -> str:
    return str(max_days) if max_days is not None else NO_END


def duration_field_name(entitlement) -> str:
    """The form field (and API field) a duration for this entitlement is sent in."""
    return "duration_hours" if entitlement.in_hours else "duration_days"


def entitlement_duration_choices(entitlement) -> list[tuple[str, str]]:
    return duration_choices(entitlement.max_duration, unit=entitlement.duration_unit, minimum=entitlement.min_duration)


def entitlement_duration_initial(entitlement) -> str:
    """The longest for days (as before); the shortest for hours: elevation is asked for as briefly as will do."""
    if entitlement.in_hours:
        return str(entitlement.min_duration)
    return duration_initial(entitlement.max_duration)


class JustificationField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label="Why do you need this access?",
            widget=forms.Textarea(attrs={"rows": 4}),
            help_text="Say what work needs it and for how long, e.g. “Deploying the billing service for the Q4 "
            "release”.",
            error_messages={"required": "Explain why you need this access."},
            min_length=MIN_JUSTIFICATION,
            max_length=2000,
            **kwargs,
        )


class BeneficiaryField(forms.TypedChoiceField):
    """Myself, or one of my direct reports."""

    def __init__(self, user, **kwargs):
        reports = [(str(person.pk), f"{person} ({person.email})") for person in user.reports.filter(is_active=True)]
        super().__init__(
            label="Who is the access for?",
            choices=[(str(user.pk), f"Myself ({user.email})"), *reports],
            coerce=int,
            initial=str(user.pk),
            required=False,
            empty_value=user.pk,
            **kwargs,
        )


class AnyoneField(forms.EmailField):
    """Governance admins may request for anyone: by email, empty meaning themselves."""

    def __init__(self, user, **kwargs):
        self.user = user
        super().__init__(
            label="Who is the access for?",
            required=False,
            help_text="Their email address; empty for yourself.",
            **kwargs,
        )

    def clean(self, value):
        email = super().clean(value)
        if not email:
            return self.user.pk
        person = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
        if person is None:
            raise forms.ValidationError("Nobody active in the portal has that email address.")
        return person.pk


def beneficiary_field(user):
    return AnyoneField(user) if user.is_governance_admin else BeneficiaryField(user)


class RequestForm(StyledForm):
    def __init__(self, *args, user, entitlement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["beneficiary"] = beneficiary_field(user)
        self.duration_name = duration_field_name(entitlement)
        self.fields[self.duration_name] = forms.TypedChoiceField(
            label="For how long?",
            choices=entitlement_duration_choices(entitlement),
            initial=entitlement_duration_initial(entitlement),
            coerce=int,
            empty_value=None,
            required=False,
            help_text="Counted from when the access is active in AWS.",
        )
        self.fields["justification"] = JustificationField()

    @property
    def duration_field(self):
        return self[self.duration_name]

    def durations(self) -> dict:
        """duration_days= or duration_hours=, as the services take them."""
        return {self.duration_name: self.cleaned_data.get(self.duration_name)}


class CheckoutForm(StyledForm):
    """The cart: one justification and beneficiary, a duration per item (field `duration_<id>`)."""

    def __init__(self, *args, user, entitlements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["beneficiary"] = beneficiary_field(user)
        for entitlement in entitlements:
            self.fields[f"duration_{entitlement.pk}"] = forms.TypedChoiceField(
                label=f"Duration for {entitlement.name}",
                choices=entitlement_duration_choices(entitlement),
                initial=entitlement_duration_initial(entitlement),
                coerce=int,
                empty_value=None,
                required=False,
            )
        self.fields["justification"] = JustificationField()
        self.entitlements = entitlements
        # The page lays the fields out around per-item "remove" forms; HTML's form attribute
        # ties each one to the checkout form wherever it stands.
        for field in self.fields.values():
            field.widget.attrs["form"] = "checkout"

    def duration_for(self, entitlement) -> int | None:
        return self.cleaned_data.get(f"duration_{entitlement.pk}")

    def cart_item(self, entitlement, make):
        """The cart item for one entitlement, its duration in its unit."""
        amount = self.duration_for(entitlement)
        if entitlement.in_hours:
            return make(entitlement, None, amount)
        return make(entitlement, amount)


class BreakGlassForm(StyledForm):
    """Breaking glass: a reason, the ticket, and how long, in the entitlement's unit. The form checks that
    something was sent; access.services.break_glass decides whether it will do, in words."""

    def __init__(self, *args, entitlement, **kwargs):
        super().__init__(*args, **kwargs)
        self.duration_name = duration_field_name(entitlement)
        self.fields[self.duration_name] = forms.TypedChoiceField(
            label="For how long?",
            choices=[choice for choice in entitlement_duration_choices(entitlement) if choice[0]],
            initial=str(entitlement.min_duration),
            coerce=int,
            error_messages={"required": "Choose how long you need it: break-glass access always ends."},
            help_text="Counted from when the access is active in AWS. Ask for no longer than the work needs.",
        )
        self.fields["ticket"] = forms.CharField(
            label="Ticket reference",
            max_length=glass.MAX_TICKET,
            error_messages={"required": "Give the incident or change ticket this is for, such as INC0012345."},
            help_text="The incident or change ticket, such as INC0012345 or OPS-123.",
            widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        )
        self.fields["reason"] = forms.CharField(
            label="Why are you breaking glass?",
            max_length=glass.MAX_REASON,
            widget=forms.Textarea(attrs={"rows": 4}),
            error_messages={"required": "Say why you are breaking glass: what is broken and what you will do."},
            help_text=f"At least {glass.MIN_REASON} characters. Your approvers read it when they review this.",
        )
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"id_{name}_helptext"

    @property
    def duration_field(self):
        return self[self.duration_name]

    def durations(self) -> dict:
        return {self.duration_name: self.cleaned_data.get(self.duration_name)}


class ReviewDecisionForm(StyledForm):
    comment = forms.CharField(label="Comment (optional)", required=False, max_length=glass.MAX_REASON)


class DecisionForm(StyledForm):
    comment = forms.CharField(label="Comment (optional)", required=False, max_length=2000)
    # Only on a separation-of-duties stage, where the rule owner approves an exception.
    mitigating_control = forms.CharField(label="Mitigating control", required=False, max_length=2000)
    exception_ends = forms.DateField(label="Exception ends on", required=False)

    def exception_terms(self):
        """The terms of an SoD exception when any were given; the service checks them."""
        control, ends = self.cleaned_data.get("mitigating_control", ""), self.cleaned_data.get("exception_ends")
        if not control and not ends:
            return None
        ends_at = datetime.combine(ends, time.max, tzinfo=UTC) if ends else datetime.min.replace(tzinfo=UTC)
        return ExceptionTerms(control, ends_at)


class ExtensionForm(StyledForm):
    def __init__(self, *args, entitlement, **kwargs):
        super().__init__(*args, **kwargs)
        self.duration_name = duration_field_name(entitlement)
        self.fields[self.duration_name] = forms.TypedChoiceField(
            label="Extend by",
            choices=[choice for choice in entitlement_duration_choices(entitlement) if choice[0]],
            coerce=int,
        )
        self.fields["justification"] = JustificationField()

    @property
    def duration_field(self):
        return self[self.duration_name]

    def durations(self) -> dict:
        return {self.duration_name: self.cleaned_data.get(self.duration_name)}


class LeaverConfirmForm(forms.Form):
    """Marking a leaver cannot be undone: the admin ticks that they understand, on the list they saw."""

    understood = forms.BooleanField(
        required=True,
        label="I understand that this removes all of their access and cannot be undone.",
        error_messages={"required": "Tick the box to confirm: marking a leaver cannot be undone."},
    )
    # What the confirmation listed (access.people_selectors.leaver_preview): if it changed meanwhile,
    # the admin is shown the new list instead of removing what they never saw.
    fingerprint = forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=64)
