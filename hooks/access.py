"""Who the caller is (bearer tokens) and what they may reach (roles, owners, managers)."""

from eve.auth import TokenAuth
from flask import abort, current_app, g, request

from services import identity

BROWSABLE_COOKIE = "innkeeper_token"


def db():
    return current_app.data.driver.db


def current_user():
    return g.get("user")


class BearerAuth(TokenAuth):
    """Eve auth: a signed, unexpired, unrevoked token; then the resource's roles."""

    def check_auth(self, token, allowed_roles, resource, method):
        user = identity.user_from_token(db(), token, current_app.config["SECRET_KEY"])
        if user is None:
            return False
        g.user = user
        if allowed_roles and user.get("role") not in allowed_roles:
            abort(
                403,
                description=f"your role ({user.get('role')}) may not {method} "
                f"{resource or 'this resource'}; allowed: {', '.join(allowed_roles)}",
            )
        return True

    def authorized(self, allowed_roles, resource, method):
        # The browsable API's pages are plain GETs: for those (never for a write, so no
        # cross-site request can change anything) the token may come from its cookie.
        if (
            not request.headers.get("Authorization")
            and request.method in ("GET", "HEAD")
            and request.cookies.get(BROWSABLE_COOKIE)
        ):
            token = request.cookies[BROWSABLE_COOKIE]
            self.set_user_or_token(token)
            return self.check_auth(token, allowed_roles, resource, method)
        return super().authorized(allowed_roles, resource, method)

    def authenticate(self):
        abort(
            401,
            description="a valid bearer token is required: send 'Authorization: Bearer "
            "<token>' with a token from POST /api/v1/auth/token",
            www_authenticate=("Bearer", {"realm": "innkeeper"}),
        )


def authenticate_request():
    """For custom routes: the caller's user, or a 401 like Eve's."""
    auth = current_app.auth
    if not auth.authorized([], None, "GET"):
        auth.authenticate()
    return g.user


def require_role(*roles):
    user = authenticate_request()
    if user.get("role") not in roles:
        abort(403, description=f"this requires the role {' or '.join(roles)}")
    return user
