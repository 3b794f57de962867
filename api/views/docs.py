"""The OpenAPI document and its Swagger UI, both for signed-in callers only."""

from django.templatetags.static import static
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

# Where drf-spectacular-sidecar keeps its copy of swagger-ui-dist among the static files.
SWAGGER_UI_ASSETS = "drf_spectacular_sidecar/swagger-ui-dist"


class SchemaView(SpectacularAPIView):
    permission_classes = (IsAuthenticated,)


class DocsView(SpectacularSwaggerView):
    """Swagger UI from this server's static files, never from a CDN, whatever SWAGGER_UI_DIST says.

    drf-spectacular picks the asset location in these two hooks; taking them over here keeps
    the page working offline and inside a strict network.
    """

    permission_classes = (IsAuthenticated,)
    url_name = "api:schema"

    @staticmethod
    def _swagger_ui_resource(filename):
        return static(f"{SWAGGER_UI_ASSETS}/{filename}")

    @staticmethod
    def _swagger_ui_favicon():
        return static(f"{SWAGGER_UI_ASSETS}/favicon-32x32.png")
