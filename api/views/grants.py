"""The caller's access: follow its sync to AWS, give it back, ask to keep it longer."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from access import services
from access.models import Grant
from access.selectors import access_of, requests_visible_to
from api.serializers.grants import GrantSerializer
from api.serializers.requests import ExtensionSerializer, RequestDetailSerializer
from api.views.base import BAD_REQUEST, CONFLICT, NOT_FOUND, PortalViewSet


@extend_schema_view(list=extend_schema(summary="Access I hold, with how far its sync to AWS has got"))
class GrantViewSet(mixins.ListModelMixin, PortalViewSet):
    serializer_class = GrantSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Grant.objects.none()
        return access_of(self.request.user)

    @extend_schema(
        summary="Give access back before it ends",
        request=None,
        responses={200: GrantSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def give_back(self, request, pk):
        grant = services.give_back(grant_id=int(pk), actor=request.user)
        return Response(GrantSerializer(grant).data)

    @extend_schema(
        summary="Ask to keep time-bound access longer; it is approved like a new request",
        request=ExtensionSerializer,
        responses={201: RequestDetailSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk):
        serializer = ExtensionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        extension = services.request_extension(requester=request.user, grant_id=int(pk), **serializer.validated_data)
        fresh = requests_visible_to(request.user).get(pk=extension.pk)
        return Response(RequestDetailSerializer(fresh).data, status=status.HTTP_201_CREATED)
