"""Every state change of campaigns and review items, one function each."""

from reviews.services.closing import refresh_remediation, sign_off, unmanaged_removals_waiting
from reviews.services.decisions import accept_recommendations, decide, reassign
from reviews.services.launch import launch

__all__ = [
    "accept_recommendations",
    "decide",
    "launch",
    "reassign",
    "refresh_remediation",
    "sign_off",
    "unmanaged_removals_waiting",
]
