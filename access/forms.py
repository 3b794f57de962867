from django import forms

from access.services.requests import MIN_JUSTIFICATION


class RequestForm(forms.Form):
    justification = forms.CharField(
        label="Why do you need this access?",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Say what work needs it and for how long, e.g. “Deploying the billing service for the Q4 release”.",
        error_messages={"required": "Explain why you need this access."},
        min_length=MIN_JUSTIFICATION,
        max_length=2000,
    )


class DecisionForm(forms.Form):
    comment = forms.CharField(label="Comment (optional)", required=False, max_length=2000)
