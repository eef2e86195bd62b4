"""The commands a flow sends to MongoDB, recorded with pymongo's command monitoring.

Registered at import (conftest imports it), so every client the suite creates reports
here. `with recorded() as commands:` collects (command name, command document) pairs
sent from the recording thread (a test client's request runs in it; the search read
model's change stream, in a thread of its own, is not the flow's).
"""

import contextlib
import threading

from pymongo import monitoring


class Recorder(monitoring.CommandListener):
    def __init__(self):
        self.recording, self.commands, self.thread = False, [], None

    def started(self, event):
        if self.recording and threading.get_ident() == self.thread:
            self.commands.append((event.command_name, event.command))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


RECORDER = Recorder()
monitoring.register(RECORDER)  # clients created from now on report to it


@contextlib.contextmanager
def recorded():
    RECORDER.commands.clear()
    RECORDER.thread = threading.get_ident()
    RECORDER.recording = True
    try:
        yield RECORDER.commands
    finally:
        RECORDER.recording = False


def filters(name, command):
    """The query filters a command carries."""
    if name == "update":
        return [u["q"] for u in command.get("updates", [])]
    if name == "delete":
        return [d["q"] for d in command.get("deletes", [])]
    if name in ("find", "count"):
        return [command.get("filter") or command.get("query") or {}]
    if name == "aggregate":
        pipeline = command.get("pipeline") or []
        return [pipeline[0]["$match"]] if pipeline and "$match" in pipeline[0] else []
    return []


def collection_of(name, command):
    return command.get(name) if isinstance(command.get(name), str) else None
