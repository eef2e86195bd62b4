"""The newest cluster time of a write this process's MongoDB clients were answered for.

A pymongo command listener (registered for the process on import, before any client is
made: pymongo gives a client the listeners registered when it is created) keeps the
largest `operationTime` of a successful write command - an insert, update, delete,
findAndModify or a transaction's commit. A write's answer carries the cluster time it
committed at, so once a write function has committed, `latest()` is at or after it: what
a reader must have seen to see the write (search/answers.py records it, search/model.py
waits for it). It only ever grows, so another thread's newer write makes it later, never
earlier: a reader may then wait for more than it needs, never for less.
"""

import threading

from bson import Timestamp
from pymongo import monitoring


def encode(ts):
    """A cluster time as text that sorts as the time does (Redis compares it in Lua)."""
    return f"{ts.time:010d}{ts.inc:010d}"


def decode(text):
    if not text:
        return None
    if isinstance(text, bytes):
        text = text.decode()
    return Timestamp(int(text[:10]), int(text[10:]))


WRITES = frozenset({"insert", "update", "delete", "findAndModify", "commitTransaction"})


class Watermark(monitoring.CommandListener):
    def __init__(self):
        self._latest = None
        self._lock = threading.Lock()

    def latest(self):
        return self._latest

    def started(self, event):
        pass

    def failed(self, event):
        pass

    def succeeded(self, event):
        if event.command_name not in WRITES:
            return
        answered = event.reply.get("operationTime")
        if answered is None:
            return
        with self._lock:
            if self._latest is None or answered > self._latest:
                self._latest = answered


WATERMARK = Watermark()
monitoring.register(WATERMARK)
