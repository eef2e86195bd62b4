"""Telling a hotel's own systems what happened: signed webhooks (Standard Webhooks).

endpoints.py holds the rules of `/webhook-endpoints` (who, which URL, the secret shown
once); guard.py where a delivery may go (the SSRF guard); feed.py turns the bookings',
payments' and inventory's change stream into deliveries, once each; delivery.py sends
them from the worker, signed, with backoff, and disables an endpoint that fails for
three days, telling its hotel's managers by mail.
"""

import ipaddress
import os
import socket
from dataclasses import dataclass, field

LOOPBACK = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class Settings:
    """What the webhook jobs and rules need of the configuration."""

    allowed_networks: tuple  # ip_network objects a URL may resolve into besides the Internet
    require_https: bool
    timeout: float  # seconds a receiver has to answer
    public_url: str
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def settings_of(config):
    """Embedded mode (make run, the tests) may call loopback receivers over http;
    production only the Internet over https, plus WEBHOOK_ALLOWED_NETWORKS."""
    named = list(config.get("WEBHOOK_ALLOWED_NETWORKS") or ())
    if config.get("EMBEDDED"):
        named += LOOPBACK
    return Settings(
        allowed_networks=tuple(ipaddress.ip_network(n, strict=False) for n in named),
        require_https=not config.get("EMBEDDED"),
        timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10)),
        public_url=config["PUBLIC_URL"],
    )
