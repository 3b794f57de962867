from django.apps import AppConfig


class SodConfig(AppConfig):
    name = "sod"
    verbose_name = "Separation of duties"
