"""Sending one message through the configured SMTP server (SMTP_URL).

`smtp://[user:password@]host:port` speaks plain SMTP and upgrades with STARTTLS when the
server offers it; `smtps://` is TLS from the first byte. Nothing here knows what a
message says: mail/ builds them, the worker's delivery pass hands them over on one
connection.
"""

import smtplib
import ssl
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 10.0


class MailError(Exception):
    """The SMTP server refused the message or could not be reached (try again later)."""


def _connect(url, timeout):
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            host, port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port or 25, timeout=timeout)
    try:
        if parts.scheme == "smtp":
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        client.close()
        raise
    return client


class Connection:
    """One SMTP session for several messages (a delivery pass): connected on the first
    message, reconnected once if the server dropped it, closed by `close()`. A message
    the server refuses leaves the session usable for the next."""

    def __init__(self, url, timeout=TIMEOUT_SECONDS):
        self.url, self.timeout, self._client = url, timeout, None

    def send(self, url, message):
        """Hand `message` over (`url` is this connection's: the outbox's send signature)."""
        del url
        for tried in range(2):
            try:
                if self._client is None:
                    self._client = _connect(self.url, self.timeout)
                self._client.send_message(message)
                return
            except smtplib.SMTPServerDisconnected as error:
                self._drop()
                if tried:
                    raise MailError(f"{type(error).__name__}: {error}") from error
            except (smtplib.SMTPException, OSError) as error:
                if not isinstance(error, smtplib.SMTPResponseException):
                    self._drop()  # the session may be half-way: start a new one
                raise MailError(f"{type(error).__name__}: {error}") from error

    def _drop(self):
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None

    def close(self):
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                self._drop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def send(url, message, timeout=TIMEOUT_SECONDS):
    """Hand `message` (an email.message.EmailMessage) to the server at `url`, in a
    session of its own."""
    with Connection(url, timeout) as connection:
        connection.send(url, message)
