"""A demo organisation in the portal and the matching IAM users and groups in simulated AWS."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from catalog.models import ApprovalPolicy, ApprovalStage, AwsAccount, Entitlement
from iam.aws import gateway
from iam.aws.gateway import account_access
from iam.aws.identity import iam_user_name

DEMO_PASSWORD = "demo-password-2026"
DEMO_ACCOUNT_ID = "123456789012"  # moto's default account

# email, full name, title, department, manager's email, admin?
PEOPLE = [
    ("frank@example.com", "Frank Director", "Director of Engineering", "Engineering", None, False),
    ("bob@example.com", "Bob Manager", "Engineering Manager", "Engineering", "frank@example.com", False),
    ("alice@example.com", "Alice Employee", "Software Engineer", "Engineering", "bob@example.com", False),
    ("dave@example.com", "Dave Engineer", "Site Reliability Engineer", "Engineering", "bob@example.com", False),
    ("carol@example.com", "Carol Owner", "Platform Lead", "Platform", "frank@example.com", False),
    ("heidi@example.com", "Heidi Finance", "Finance Manager", "Finance", None, False),
    ("grace@example.com", "Grace Analyst", "Financial Analyst", "Finance", "heidi@example.com", False),
    ("erin@example.com", "Erin Admin", "Governance Administrator", "Security", None, True),
    ("ivy@example.com", "Ivy Auditor", "Internal Auditor", "Risk", None, False),
]
AUDITORS = {"ivy@example.com"}

# IAM group, display name, description, risk, requestable, maximum days, policy
GROUPS = [
    ("Developers", "Developers", "Read and write to development resources.", "low", True, None, None),
    ("ReadOnly", "Read-only", "View resources in the account; change nothing.", "low", True, 90, "Self-service"),
    ("Deployers", "Deployers", "Deploy services through the pipeline roles.", "medium", True, 30, None),
    ("BillingAdmins", "Billing administrators", "Manage billing, budgets and invoices.", "high", True, 7, None),
    (
        "BreakGlass",
        "Break-glass administrators",
        "Emergency full access; granted by the security team only.",
        "high",
        False,
        1,
        None,
    ),
]

# name, default for risk, auto-approve, stages as (approvers, mode, required)
POLICIES = [
    ("Standard", "low", False, [("manager", "any", 1)]),
    ("Sensitive", "medium", False, [("manager", "any", 1), ("owners", "any", 1)]),
    ("Privileged", "high", False, [("manager", "any", 1), ("owners", "all", 1)]),
    ("Self-service", None, True, [("manager", "any", 1)]),
]


class Command(BaseCommand):
    help = "Create the demo organisation and its IAM users and groups in the simulated AWS account."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-real-aws",
            action="store_true",
            help="Also write to AWS when AWS_ENDPOINT_URL is not set (creates IAM users and groups).",
        )

    def handle(self, *args, allow_real_aws=False, **options):
        if not settings.AWS_ENDPOINT_URL and not allow_real_aws:
            raise CommandError(
                "AWS_ENDPOINT_URL is not set, so this would create demo users in a real AWS account. "
                "Point AWS_ENDPOINT_URL at a simulated AWS (make run does), or pass --allow-real-aws."
            )
        people, account = self._seed_portal()
        self._seed_aws(people, account)
        self.stdout.write(self.style.SUCCESS(f"Demo organisation ready: {len(people)} people, {len(GROUPS)} groups."))
        for email, name, *_ in PEOPLE:
            self.stdout.write(f"  {email:22} {name}")
        self.stdout.write(f"  password for all: {DEMO_PASSWORD}")

    @transaction.atomic
    def _seed_portal(self):
        people: dict[str | None, User] = {}
        for email, name, title, department, manager_email, admin in PEOPLE:
            person, created = User.objects.update_or_create(
                email=email,
                defaults={
                    "full_name": name,
                    "title": title,
                    "department": department,
                    "manager": people.get(manager_email),
                    "is_staff": admin,
                    "is_superuser": admin,
                    "is_auditor": email in AUDITORS,
                },
            )
            if created:
                person.set_password(DEMO_PASSWORD)
                person.save(update_fields=["password"])
            people[email] = person
        policies = self._seed_policies(fallback=people["erin@example.com"])
        account, _ = AwsAccount.objects.update_or_create(account_id=DEMO_ACCOUNT_ID, defaults={"name": "Sandbox"})
        for group, name, description, risk, requestable, max_days, policy in GROUPS:
            entitlement, _ = Entitlement.objects.update_or_create(
                account=account,
                kind=Entitlement.Kind.IAM_GROUP,
                aws_name=group,
                defaults={
                    "name": name,
                    "description": description,
                    "risk": risk,
                    "requestable": requestable,
                    "max_duration_days": max_days,
                    "approval_policy": policies.get(policy),
                },
            )
            owner = people["erin@example.com"] if group == "BreakGlass" else people["carol@example.com"]
            entitlement.owners.set([owner])
        return list(people.values()), account

    def _seed_policies(self, fallback):
        policies = {}
        for name, risk, automatic, stages in POLICIES:
            policy, _ = ApprovalPolicy.objects.update_or_create(
                name=name, defaults={"default_for_risk": risk, "auto_approve": automatic, "fallback_approver": fallback}
            )
            policy.stages.all().delete()
            ApprovalStage.objects.bulk_create(
                ApprovalStage(policy=policy, order=order, approvers=approvers, mode=mode, required=required)
                for order, (approvers, mode, required) in enumerate(stages, start=1)
            )
            policies[name] = policy
        return policies

    def _seed_aws(self, people, account):
        access = account_access(account)
        for group, *_ in GROUPS:
            gateway.ensure_group(access, group)
        for person in people:
            gateway.ensure_user(access, iam_user_name(person), tags={"portal-email": person.email})
