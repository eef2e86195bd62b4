"""Bearer tokens: HS256 JWTs naming the user and their token version.

`verify` is the one place a token is decoded; a request decodes its token once
(identity/authentication.py keeps the claims for the request).
"""

import secrets
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


def issue_token(user, secret, ttl_seconds):
    now = datetime.now(UTC)
    claims = {
        "sub": str(user["_id"]),
        "tv": user.get("token_version", 0),
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(token, secret):
    """The claims of a validly signed, unexpired token, else None."""
    try:
        return jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat"]}
        )
    except (jwt.PyJWTError, TypeError, ValueError):
        return None
