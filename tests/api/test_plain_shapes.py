"""The shapes nested in every row of the API's lists write their values themselves (api/serializers/common.py):
each must answer exactly what DRF's generic path answers from the same declared fields."""

import uuid
from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from access.models import AccessRequest
from access.selectors import annotate_held_and_pending
from api.serializers.catalog import EntitlementSerializer
from api.serializers.common import AccountSerializer, EntitlementSummarySerializer, PersonSerializer
from api.serializers.requests import RequestDetailSerializer, RequestSerializer
from catalog.selectors import requestable_entitlements


def generic(serializer: serializers.Serializer, instance) -> dict:
    """DRF's own representation: every readable field's attribute, None check and conversion."""
    return dict(serializers.Serializer.to_representation(serializer, instance))


def test_people_accounts_and_entitlements_read_as_drf_writes_them(cast, sandbox):
    for person in (cast.alice, cast.erin):
        assert PersonSerializer().to_representation(person) == generic(PersonSerializer(), person)
    account = sandbox.developers.account
    assert AccountSerializer().to_representation(account) == generic(AccountSerializer(), account)
    for entitlement in (sandbox.developers, sandbox.breakglass):
        summary = EntitlementSummarySerializer()
        assert summary.to_representation(entitlement) == generic(summary, entitlement)


def test_a_request_reads_as_drf_writes_it_pending_and_decided(cast, sandbox, alices_request):
    """A pending request with no end date or cart, and one decided, for hours, from a cart."""
    decided = AccessRequest.objects.get(pk=alices_request.pk)
    decided.state, decided.decided_at = AccessRequest.State.DENIED, timezone.now() + timedelta(microseconds=7)
    decided.duration_days, decided.duration_hours, decided.cart = None, 4, uuid.uuid4()
    for request in (alices_request, decided):
        for shape in (RequestSerializer(), RequestDetailSerializer()):
            assert shape.to_representation(request) == generic(shape, request), type(shape).__name__


def test_a_catalog_row_reads_as_drf_writes_it(cast, sandbox, alices_request):
    """Developers (owned by Carol, asked for by Alice) as Alice and as Bob see it."""
    sandbox.developers.owners.add(cast.carol, cast.dave)
    for viewer in (cast.alice, cast.bob):
        for entitlement in annotate_held_and_pending(requestable_entitlements(), viewer):
            shape = EntitlementSerializer()
            assert shape.to_representation(entitlement) == generic(shape, entitlement), viewer.email
