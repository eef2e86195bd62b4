"""Users: accounts and their roles; only admins manage them here."""

from domain.fields import index
from domain.vocabulary import ROLES

EMAIL_REGEX = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

users = {
    "item_title": "user",
    "description": "An account. Passwords are stored only as argon2 hashes and never returned.",
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET", "PATCH", "DELETE"],
    "allowed_roles": ["admin"],
    "allowed_item_roles": ["admin"],
    "bulk_enabled": False,
    "datasource": {"projection": {"email": 1, "name": 1, "role": 1}},
    "allowed_filters": ["email", "role", "_created"],
    "mongo_indexes": {"email": index("email", unique=True), "role": index("role")},
    "schema": {
        "email": {
            "type": "string",
            "required": True,
            "regex": EMAIL_REGEX,
            "maxlength": 254,
            "unique": True,
            "description": "Sign-in email, stored lower-case.",
            "example": "ada@example.com",
        },
        "name": {
            "type": "string",
            "maxlength": 200,
            "description": "Display name.",
            "example": "Ada Lovelace",
        },
        "password": {
            "type": "string",
            "minlength": MIN_PASSWORD_LENGTH,
            "maxlength": MAX_PASSWORD_LENGTH,
            "description": "Write-only: set on creation or change; stored as an argon2 hash, "
            "never returned. Changing it revokes the user's tokens.",
            "example": "correct horse battery",
        },
        "role": {
            "type": "string",
            "allowed": ROLES,
            "default": "guest",
            "description": "guest books for themself; manager runs listed hotels; admin all.",
            "example": "guest",
        },
    },
}
