"""A real SMTP server for the suite: aiosmtpd's, on a free loopback port, keeping every
message it accepts (parsed) in memory. `down()` makes it refuse mail for a while."""

import email
import threading
from email import policy

from aiosmtpd.controller import Controller

from plumbing.embedded import free_port


class Inbox:
    def __init__(self):
        self.messages, self.lock, self.refusing = [], threading.Lock(), False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refusing:
            return "451 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(parsed)
        return "250 OK"

    def to(self, address):
        """The messages accepted for `address`, oldest first."""
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self):
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()
