"""Sending one message through the configured SMTP server (SMTP_URL).

`smtp://[user:password@]host:port` speaks plain SMTP and upgrades with STARTTLS when the
server offers it; `smtps://` is TLS from the first byte. Nothing here knows what a
message says: mail/ builds them, the worker's job hands them over one at a time.
"""

import smtplib
import ssl
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 10.0


class MailError(Exception):
    """The SMTP server refused the message or could not be reached (try again later)."""


def send(url, message, timeout=TIMEOUT_SECONDS):
    """Hand `message` (an email.message.EmailMessage) to the server at `url`."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    try:
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(
                host, port or 465, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port or 25, timeout=timeout)
        with client:
            if parts.scheme == "smtp":
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise MailError(f"{type(error).__name__}: {error}") from error
