"""The IAM posture app: CIS AWS Foundations IAM controls scanned on every governed account."""

from django.apps import AppConfig


class PostureConfig(AppConfig):
    name = "posture"
    verbose_name = "IAM posture"
