"""The refusals under their former names, for the one module not moved to `inputs.refusals` yet.

`access.views.people` (changed on another branch as the vocabulary moved) still imports `AccessError` from
here, and so do tests written before; `.importlinter` (contract `refusals`) lets no other module of the portal.
Delete this module once they have moved.
"""

from inputs.refusals import Contended, Duplicate, InvalidInput, NotAllowed, NotFound, SodBlocked, StaleState
from inputs.refusals import Refusal as AccessError

__all__ = [
    "AccessError",
    "Contended",
    "Duplicate",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
    "SodBlocked",
    "StaleState",
]
