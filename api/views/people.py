"""People: governance admins mark leavers (the HR feed does the same in bulk)."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from accounts import roles
from accounts.services import mark_leaver
from api.views.base import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, PortalViewSet


class IsGovernanceAdmin(BasePermission):
    message = "Only governance admins may change people."

    def has_permission(self, request, view):
        return roles.is_governance_admin(request.user)


class PersonStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "email", "full_name", "department", "employment_status", "left_at", "is_auditor"]
        read_only_fields = fields


class PeopleViewSet(PortalViewSet):
    permission_classes = [IsGovernanceAdmin]
    serializer_class = PersonStatusSerializer
    queryset = get_user_model().objects.all()

    @extend_schema(
        summary="Mark a person a leaver: all their access becomes desired-absent and is removed from AWS",
        request=None,
        responses={200: PersonStatusSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def leaver(self, request, pk):
        person = mark_leaver(person=get_object_or_404(self.get_queryset(), pk=pk), actor=request.user)
        return Response(PersonStatusSerializer(person).data)
