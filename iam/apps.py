from django.apps import AppConfig


class IamConfig(AppConfig):
    name = "iam"
    verbose_name = "AWS IAM sync"

    def ready(self):
        # audit, the lowest layer, never imports boto3: it reaches an anchor bucket through this store.
        from audit.anchoring import register_bucket_store
        from iam.aws.audit_anchors import BucketAnchorStore

        register_bucket_store(BucketAnchorStore)
