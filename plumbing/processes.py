"""Is a process still running, and since when: what a record naming a pid can trust.

A zombie (a process that has exited but that nobody reaps, as happens to orphans in a
container whose init does not wait) still answers kill(pid, 0), yet it holds no port and
serves nothing: it counts as gone here.
"""

import os


def _stat(pid):
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces and
    parentheses), or None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True


def alive(pid):
    """True while process `pid` runs (a zombie does not)."""
    fields = _stat(pid)
    if fields:
        return fields[0] not in (b"Z", b"X")
    return _exists(pid)


def started(pid):
    """The start time of process `pid` (Linux /proc, in clock ticks), None if it is gone
    (or a zombie); "?" where /proc cannot tell, if the pid is alive."""
    fields = _stat(pid)
    if fields and len(fields) > 19:
        return fields[19].decode() if fields[0] not in (b"Z", b"X") else None
    return "?" if _exists(pid) else None
