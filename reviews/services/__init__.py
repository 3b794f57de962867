"""Every state change of campaigns and review items, one function each."""

from reviews.services.campaigns import launch_refusal, record_launch_failure, request_launch, save_draft
from reviews.services.closing import refresh_remediation, sign_off, unmanaged_removals_waiting
from reviews.services.launch import launch
from reviews.services.line_decisions import accept_recommendations, decide, reassign
from reviews.services.preview import preview

__all__ = [
    "accept_recommendations",
    "decide",
    "launch",
    "launch_refusal",
    "preview",
    "reassign",
    "record_launch_failure",
    "refresh_remediation",
    "request_launch",
    "save_draft",
    "sign_off",
    "unmanaged_removals_waiting",
]
