"""Who the caller is (bearer tokens) and what their role may reach, for Eve and custom routes.

A request's token is verified once (`token_claims`); the rate limiter (through
`bearer_subject`, which run.py hands it) and the Eve auth class both read that result.
"""

from eve.auth import TokenAuth
from flask import abort, current_app, g, request

from identity import accounts, tokens
from plumbing.context import db

BROWSABLE_COOKIE = "innkeeper_token"


def optional_user():
    """The user this request's credentials name, also on public reads (which Eve does not
    authenticate); None for an anonymous caller or a bad token. Resolved from the request
    itself (and kept on it), never from a `g.user` an earlier request may have left in a
    shared app context."""
    if "innkeeper.user" not in request.environ:
        authorized = current_app.auth.authorized([], None, "GET")
        request.environ["innkeeper.user"] = g.user if authorized else None
    return request.environ["innkeeper.user"]


def bearer_token():
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def bearer_subject():
    """The user id of a validly signed, unexpired bearer token, else None (no DB lookup):
    what the rate limiter keys a caller by."""
    claims = token_claims(bearer_token())
    return str(claims["sub"]) if claims else None


def token_claims(token):
    """The verified claims of `token` (None when forged or expired), decoded once a request."""
    cached = g.get("token_claims")
    if cached is None or cached[0] != token:
        cached = (token, tokens.verify(token, current_app.config["SECRET_KEY"]) if token else None)
        g.token_claims = cached
    return cached[1]


class BearerAuth(TokenAuth):
    """Eve auth: a signed, unexpired, unrevoked token; then the resource's roles."""

    def check_auth(self, token, allowed_roles, resource, method):
        claims = token_claims(token)
        user = accounts.user_for_claims(db(), claims) if claims else None
        if user is None:
            return False
        g.user = user
        request.environ["innkeeper.authenticated"] = user  # for the request's log line
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
