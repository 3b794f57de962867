"""The OpenAPI document and its Swagger UI, both for signed-in callers only."""

from django.templatetags.static import static
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

# Where drf-spectacular-sidecar keeps its copy of swagger-ui-dist among the static files.
SWAGGER_UI_ASSETS = "drf_spectacular_sidecar/swagger-ui-dist"


class SchemaView(SpectacularAPIView):
    permission_classes = (IsAuthenticated,)


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from this server's static files, never from a CDN, whatever SWAGGER_UI_DIST says.

    The split view serves its start-up script from its own URL (`?script`), so the page runs under
    the portal's Content-Security-Policy, which allows no inline script.

    drf-spectacular picks the asset location in these two hooks; taking them over here keeps
    the page working offline and inside a strict network.
    """

    permission_classes = (IsAuthenticated,)
    url_name = "api:schema"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(f"{SWAGGER_UI_ASSETS}/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static(f"{SWAGGER_UI_ASSETS}/favicon-32x32.png")
