"""Telling people what happened: guests' booking mail and password resets (outbox.py,
messages.py, follow.py)."""

import os
import socket
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    """What the mail jobs need of the configuration."""

    smtp_url: str | None
    sender: str
    public_url: str
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def settings_of(config):
    return Settings(config.get("SMTP_URL"), config["MAIL_FROM"], config["PUBLIC_URL"])
