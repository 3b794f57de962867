"""Who may see, read, decide in, preview and change a review campaign: stated once, for the pages and the API.

Each rule takes the person and a campaign's id (and, where the caller wants more of the row, the queryset
to read it from), returns the campaign, and refuses with `inputs.refusals`: NotFound for a campaign the
person may not see, told apart from none that does not exist, so ids tell nothing; NotAllowed for one
they see but may not do this to. The edges only translate: pages through
`inputs.refusal_pages.access_or_error_page` (Django's own 404 and 403 pages), the API through its
exception handler (`api.exceptions`). The services check again what they change (`refuse_auditors`, the
owner of a launch or a sign-off, the reviewer of a line) under their row locks.

Who sees a campaign: its owner, its reviewers (now, or of lines they kept and handed on to the second
stage), governance admins and auditors. Governance admins and auditors read every campaign and every
line; auditors change nothing, whatever else they are.
"""

from django.db.models import QuerySet

from accounts.models import User
from accounts.roles import is_auditor, reads_everything
from inputs.refusals import NotAllowed, NotFound
from reviews import selectors
from reviews.models import Campaign

# DRF's own words for a 404, which the API answered before these rules were stated here: the same
# detail for a campaign that does not exist and for one the person may not see.
NOT_FOUND = "Not found."
AUDITORS_CHANGE_NOTHING = "Auditors read review campaigns; they change nothing."


def refuse_auditors(user: User | None) -> None:
    """NotAllowed for an auditor, whatever else they are (a manager with review lines, say)."""
    if user is not None and is_auditor(user):
        raise NotAllowed(AUDITORS_CHANGE_NOTHING)


def _campaign(campaign_id: int | str, campaigns: QuerySet[Campaign] | None) -> Campaign:
    campaign = (Campaign.objects if campaigns is None else campaigns).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(NOT_FOUND)
    return campaign


def visible(user: User, campaign_id: int | str, campaigns: QuerySet[Campaign] | None = None) -> Campaign:
    """A campaign the person may see: its owner, its reviewers, governance admins and auditors."""
    campaign = _campaign(campaign_id, campaigns)
    if user.pk != campaign.owner_id and not reads_everything(user) and not selectors.reviews_in(campaign, user):
        raise NotFound(NOT_FOUND)
    return campaign


def readable(user: User, campaign_id: int | str, campaigns: QuerySet[Campaign] | None = None) -> Campaign:
    """For reading the whole campaign (its page, its evidence): its owner, governance admins and auditors;
    its reviewers, who read their own queue, NotAllowed."""
    campaign = visible(user, campaign_id, campaigns)
    if user.pk != campaign.owner_id and not reads_everything(user):
        raise NotAllowed("Only the campaign's owner, governance admins and auditors read the whole campaign.")
    return campaign


def owned(user: User, campaign_id: int | str) -> Campaign:
    """For changing the campaign (launch, sign-off): its owner or a governance admin; its reviewers NotAllowed."""
    campaign = visible(user, campaign_id)
    if user.pk != campaign.owner_id and not user.is_governance_admin:
        raise NotAllowed("Only the campaign's owner or a governance admin can change it.")
    return campaign


def queue_of(user: User, campaign_id: int | str) -> tuple[Campaign, bool]:
    """The campaign's lines the person reads, and whether they decide them: a reviewer (now, or of lines
    they handed on) decides their own lines; governance admins and auditors who review nothing in it read
    every line. Its owner, if neither, and anyone else: NotFound."""
    campaign = _campaign(campaign_id, None)
    if not is_auditor(user) and selectors.reviews_in(campaign, user):
        return campaign, True
    if reads_everything(user):
        return campaign, False
    raise NotFound(NOT_FOUND)


def reviewing(user: User, campaign_id: int | str) -> Campaign:
    """A campaign with lines for this person to decide now; anyone else NotFound."""
    campaign = _campaign(campaign_id, None)
    if not campaign.items.filter(reviewer=user).exists():
        raise NotFound(NOT_FOUND)
    return campaign


def previewable(user: User, campaign_id: int | str, campaigns: QuerySet[Campaign] | None = None) -> Campaign:
    """A campaign whose launch preview the person may read: governance admins and auditors; anyone else
    NotFound (before the campaign is even read)."""
    if not reads_everything(user):
        raise NotFound(NOT_FOUND)
    return _campaign(campaign_id, campaigns)
