"""Where a webhook may be sent: a URL whose every address is on the public Internet, or
in a network the operator allowed (WEBHOOK_ALLOWED_NETWORKS; loopback in embedded mode).

An endpoint's URL is checked when it is written (a 422 naming `url`) and again before
each delivery, whose connection then goes to the very address checked: a name that
resolves elsewhere between the check and the send (DNS rebinding) cannot steer a
delivery into the private network. Redirects are never followed.
"""

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as ResolveTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

RESOLVE_SECONDS = 2.0  # before a delivery, in the worker
WRITE_RESOLVE_SECONDS = 0.5  # while a request waits
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


class Refused(ValueError):
    """Why a URL may not be called, in words for the `url` field."""


class Unresolved(Refused):
    """The host's name did not resolve in time (checked again before each delivery)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (for Host, SNI and the certificate)
    port: int
    path: str  # with its query
    address: str  # the checked IP to connect to


def _parts(url):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused(f"is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not carry a user or password: the signature authenticates")
    if not parts.hostname:
        raise Refused("has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def _resolve(host, port, seconds):
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    future = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        answers = future.result(timeout=seconds)
    except ResolveTimeout:
        raise Unresolved(f"host {host} did not resolve within {seconds:g} s") from None
    except OSError:
        raise Refused(f"host {host} does not resolve") from None
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in answers]


def _in(address, networks):
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks if network.version == address.version)


def check_on_write(url, settings):
    """check() for an endpoint being written, inside a request: a name whose lookup is
    slow is let through after WRITE_RESOLVE_SECONDS rather than holding the request
    (the delivery checks it again, and sends nothing until it resolves somewhere
    allowed); everything else refused as check() refuses it."""
    try:
        check(url, settings, WRITE_RESOLVE_SECONDS)
    except Unresolved:
        return


def check(url, settings, resolve_seconds=RESOLVE_SECONDS):
    """The Target to send to, or Refused: every address the host resolves to must be
    public or in an allowed network (one private answer among public ones is refused
    too). Over the Internet production sends https only; an allowed network (which the
    operator vouches for, and where receivers seldom have public certificates) may be
    called over http."""
    scheme, host, port, path = _parts(url)
    addresses = _resolve(host, port, resolve_seconds)
    vouched = all(_in(a, settings.allowed_networks) for a in addresses)
    for address in addresses:
        public = address.is_global and not address.is_multicast
        if not (public or _in(address, settings.allowed_networks)):
            raise Refused(
                f"resolves to {address}, a loopback, private, link-local or reserved "
                "address; an operator can allow a private network with "
                "WEBHOOK_ALLOWED_NETWORKS"
            )
    if scheme != "https" and settings.require_https and not vouched:
        raise Refused("must be https: deliveries carry guests' bookings")
    return Target(scheme, host, port, path, str(addresses[0]))
