from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Access reviews"

    def ready(self):
        from reviews.audit_names import register_names

        register_names()  # how the audit log names them
