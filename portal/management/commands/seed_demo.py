"""A demo organisation in the portal and the matching IAM users and groups in simulated AWS."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from catalog.models import AwsAccount, Entitlement
from iam import gateway
from iam.identity import iam_user_name
from iam.sync import account_access

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
]

# IAM group, display name, description, risk, requestable
GROUPS = [
    ("Developers", "Developers", "Read and write to development resources.", "low", True),
    ("ReadOnly", "Read-only", "View resources in the account; change nothing.", "low", True),
    ("Deployers", "Deployers", "Deploy services through the pipeline roles.", "medium", True),
    ("BillingAdmins", "Billing administrators", "Manage billing, budgets and invoices.", "high", True),
    (
        "BreakGlass",
        "Break-glass administrators",
        "Emergency full access; granted by the security team only.",
        "high",
        False,
    ),
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
        people = {}
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
                },
            )
            if created:
                person.set_password(DEMO_PASSWORD)
                person.save(update_fields=["password"])
            people[email] = person
        account, _ = AwsAccount.objects.update_or_create(account_id=DEMO_ACCOUNT_ID, defaults={"name": "Sandbox"})
        for group, name, description, risk, requestable in GROUPS:
            entitlement, _ = Entitlement.objects.update_or_create(
                account=account,
                kind=Entitlement.Kind.IAM_GROUP,
                aws_name=group,
                defaults={"name": name, "description": description, "risk": risk, "requestable": requestable},
            )
            owner = people["erin@example.com"] if group == "BreakGlass" else people["carol@example.com"]
            entitlement.owners.set([owner])
        return list(people.values()), account

    def _seed_aws(self, people, account):
        access = account_access(account)
        for group, *_ in GROUPS:
            gateway.ensure_group(access, group)
        for person in people:
            gateway.ensure_user(access, iam_user_name(person), tags={"portal-email": person.email})
