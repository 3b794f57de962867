from allauth.account.adapter import DefaultAccountAdapter


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """People are provisioned by administrators, not by self sign-up."""

    def is_open_for_signup(self, request):
        return False
