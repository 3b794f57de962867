"""How the audit log names grants, requests, stages and votes (see audit.subjects).

Requests, stages and votes have no page of their own an auditor could open, so they are named
without a link; the log's "all events of this object" filter is their history.
"""

from access.models import AccessRequest, Approval, ApprovalAssignment, Grant
from accounts.audit_names import PERSON_WORDS, as_text_ids, words_of
from audit.subjects import Subject, register
from catalog.audit_names import ENTITLEMENT_WORDS, entitlement_words

# What `_request_words` reads of a request (under its relation's name where it is related).
REQUEST_WORDS = [*words_of("beneficiary", PERSON_WORDS), *words_of("entitlement", ENTITLEMENT_WORDS)]


def _whose(person, entitlement) -> str:
    return f"{person} — {entitlement_words(entitlement)}"


def _describe_grants(ids, events):
    grants = (
        Grant.objects.filter(pk__in=ids)
        .select_related("user", "entitlement__account")
        .only(*words_of("user", PERSON_WORDS), *words_of("entitlement", ENTITLEMENT_WORDS))
    )
    return {str(grant.pk): Subject(_whose(grant.user, grant.entitlement)) for grant in grants}


def _request_words(access_request: AccessRequest) -> str:
    return f"Request #{access_request.pk}: {_whose(access_request.beneficiary, access_request.entitlement)}"


def _describe_requests(ids, events):
    found = (
        AccessRequest.objects.filter(pk__in=ids)
        .select_related("beneficiary", "entitlement__account")
        .only(*REQUEST_WORDS)
    )
    return {str(access_request.pk): Subject(_request_words(access_request)) for access_request in found}


def _describe_stages(ids, events):
    stages = (
        Approval.objects.filter(pk__in=ids)
        .select_related("request__beneficiary", "request__entitlement__account")
        .only("step", *words_of("request", REQUEST_WORDS))
    )
    return {str(stage.pk): Subject(f"Stage {stage.step} of {_request_words(stage.request)}") for stage in stages}


def _voter(vote: ApprovalAssignment) -> str:
    return str(vote.approver) if vote.approver_id else "governance admins"


def _describe_votes(ids, events):
    votes = (
        ApprovalAssignment.objects.filter(pk__in=ids)
        .select_related("approver", "approval__request__beneficiary", "approval__request__entitlement__account")
        .only(*words_of("approver", PERSON_WORDS), *words_of("approval__request", REQUEST_WORDS))
    )
    return {
        str(vote.pk): Subject(f"Vote of {_voter(vote)} on {_request_words(vote.approval.request)}") for vote in votes
    }


def register_names() -> None:
    register(
        "access.grant",
        describe=_describe_grants,
        about_person=lambda pk: as_text_ids(Grant.objects.filter(user_id=pk)),
        about_entitlement=lambda pk: as_text_ids(Grant.objects.filter(entitlement_id=pk)),
    )
    register(
        "access.accessrequest",
        describe=_describe_requests,
        about_person=lambda pk: as_text_ids(AccessRequest.objects.filter(beneficiary_id=pk)),
        about_entitlement=lambda pk: as_text_ids(AccessRequest.objects.filter(entitlement_id=pk)),
    )
    register(
        "access.approval",
        describe=_describe_stages,
        about_person=lambda pk: as_text_ids(Approval.objects.filter(request__beneficiary_id=pk)),
        about_entitlement=lambda pk: as_text_ids(Approval.objects.filter(request__entitlement_id=pk)),
    )
    register(
        "access.approvalassignment",
        describe=_describe_votes,
        about_person=lambda pk: as_text_ids(ApprovalAssignment.objects.filter(approval__request__beneficiary_id=pk)),
        about_entitlement=lambda pk: as_text_ids(
            ApprovalAssignment.objects.filter(approval__request__entitlement_id=pk)
        ),
    )
