from django.apps import AppConfig
from django.urls import register_converter


class InputsConfig(AppConfig):
    name = "inputs"
    verbose_name = "Input bounds"

    def ready(self):
        from inputs.converters import IdConverter

        # Before any URLconf is imported: the portal's routes name their ids <id:...>.
        register_converter(IdConverter, "id")
