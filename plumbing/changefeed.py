"""One change stream per process, fanned out to the listeners it serves.

A `Fanout` runs one thread that reads one MongoDB change stream and hands each change to
the subscribers of its key (a listener's queue), so a listener costs a queue, not a
database cursor: hundreds of them share the one stream. It keeps the last `keep`
changes with their resume tokens, so a listener that reconnects with the id of the last
event it heard gets what it missed from memory; an id the fanout no longer holds (too
old, or another process's before this one started) is reported as not resumable, and the
caller starts afresh from the current state.

If the stream fails (a failover, a restart of the database) the thread reopens it after
the last token it read, so nothing committed meanwhile is lost; it stops when no
listener has been subscribed for `idle_seconds`, and starts again with the next one.
Which changes, and what key a change belongs to, are the caller's (`watch`, `key_of`):
this module names no collection.
"""

import collections
import queue
import threading
import time

from pymongo.errors import OperationFailure, PyMongoError

from plumbing.values import utcnow

KEEP = 20_000
POSITIONS = 50_000
IDLE_SECONDS = 60.0
READY_SECONDS = 5.0


class Subscription:
    """One listener's queue of (event id, change) and its place in the fanout."""

    def __init__(self, fanout, key):
        self.fanout, self.key = fanout, key
        self.changes = queue.SimpleQueue()
        self.closed = False

    def get(self, timeout):
        """The next (event id, change), or None after `timeout` seconds without one."""
        try:
            return self.changes.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        if not self.closed:
            self.closed = True
            self.fanout._unsubscribe(self)  # noqa: SLF001 - its own fanout


class Fanout:
    """See the module doc. `watch(resume_after)` opens the change stream (resume_after is
    a token or None); `key_of(change)` is the key of the listeners who want it, or None."""

    def __init__(self, watch, key_of, keep=KEEP, idle_seconds=IDLE_SECONDS):
        self._watch, self._key_of = watch, key_of
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._subscribers = {}  # key -> set of Subscription
        self._log = collections.deque(maxlen=keep)  # (seq, event id, key, change)
        self._positions = collections.OrderedDict()  # event id or stream position -> seq
        self._seq = 0  # the seq the next change gets
        self._token = None  # the stream's last resume token
        self._thread = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._last_subscriber = time.monotonic()
        self.errors = 0

    # -- listeners ------------------------------------------------------------------

    def subscribe(self, key, after=None):
        """A Subscription for `key`, and (resumed, position): with `after` (an event id
        this fanout gave), the changes for `key` since then are queued already and
        resumed is True; position is the id of the stream's current place, for the first
        event a listener is sent."""
        self._ensure_running()
        with self._lock:
            subscription = Subscription(self, key)
            resumed = False
            start = self._positions.get(after) if after is not None else None
            oldest = self._log[0][0] if self._log else self._seq
            if start is not None and start >= oldest:
                for seq, event_id, change_key, change in self._log:
                    if seq >= start and change_key == key:
                        subscription.changes.put((event_id, change))
                resumed = True
            self._subscribers.setdefault(key, set()).add(subscription)
            self._last_subscriber = time.monotonic()
            return subscription, resumed, self._position()

    def listeners(self):
        with self._lock:
            return sum(len(s) for s in self._subscribers.values())

    def _unsubscribe(self, subscription):
        with self._lock:
            found = self._subscribers.get(subscription.key)
            if found is not None:
                found.discard(subscription)
                if not found:
                    del self._subscribers[subscription.key]
            self._last_subscriber = time.monotonic()

    def _position(self):
        """An id for where the stream stands now (lock held)."""
        token = self._token["_data"] if self._token else f"seq-{self._seq}"
        self._remember(token, self._seq)
        return token

    def _remember(self, token, seq):
        self._positions[token] = seq
        self._positions.move_to_end(token)
        while len(self._positions) > POSITIONS:
            self._positions.popitem(last=False)

    # -- the one stream -----------------------------------------------------------------

    def _ensure_running(self):
        with self._lock:
            if self._thread is None:
                self._ready.clear()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="changefeed", daemon=True)
                self._thread.start()
        self._ready.wait(READY_SECONDS)

    def stop(self):
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5)

    def _idle(self):
        return (
            not self._subscribers and time.monotonic() - self._last_subscriber > self._idle_seconds
        )

    def _exiting(self):
        """Whether the thread ends now (stopped, or idle); decided under the lock, so a
        listener subscribing meanwhile either keeps it running or starts a new one."""
        with self._lock:
            if self._stop.is_set() or self._idle():
                self._thread = None
                return True
            return False

    def _run(self):
        backoff = 0.1
        while not self._exiting():
            try:
                with self._watch(self._token) as stream:
                    with self._lock:
                        self._token = stream.resume_token or self._token
                    self._ready.set()
                    backoff = 0.1
                    while stream.alive and not self._stop.is_set() and not self._idle():
                        change = stream.try_next()
                        self._take(change, stream.resume_token)
            except PyMongoError:
                self.errors += 1
                self._ready.set()  # listeners get no change until it is back, not a hang
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _take(self, change, token):
        """One read of the stream: a change to hand out, or (None) a new position."""
        with self._lock:
            if change is None:
                if token is not None and token != self._token:
                    self._token = token
                    self._remember(token["_data"], self._seq)
                return
            event_id = change["_id"]["_data"]
            self._token = change["_id"]
            key = self._key_of(change)
            self._log.append((self._seq, event_id, key, change))
            self._seq += 1
            self._remember(event_id, self._seq)
            for subscription in self._subscribers.get(key, ()):
                subscription.changes.put((event_id, change))


def documents_of(db, changes, collections, extra=None):
    """The documents a pass's changes are about, as they are now, one read per
    collection: {collection: {id: document}}. `extra`: more ids to read with them
    ({collection: ids}, a payment's booking)."""
    ids = {collection: set((extra or {}).get(collection, ())) for collection in collections}
    for change in changes:
        if change["ns"]["coll"] in ids:
            ids[change["ns"]["coll"]].add(change["documentKey"]["_id"])
    return {
        collection: {d["_id"]: d for d in db[collection].find({"_id": {"$in": list(wanted)}})}
        if wanted
        else {}
        for collection, wanted in ids.items()
    }


class KeptPosition:
    """A worker feed's place in a change stream, kept in `feed_positions` under its name
    so a pass carries on where the last one stopped, in whichever worker process runs
    it. Which collections, and what to do with a change, are the feed's."""

    COLLECTION = "feed_positions"
    AWAIT_MS = 10  # a pass reads what has committed; it never waits for more

    def __init__(self, name, pipeline):
        self.name, self.pipeline = name, pipeline

    def open(self, db):
        """The stream after the kept token; None with no token, or one the server no
        longer holds (the feed decides what "from now on" means for it)."""
        kept = db[self.COLLECTION].find_one({"_id": self.name})
        token = kept.get("token") if kept else None
        if token is None:
            return None
        try:
            return db.watch(self.pipeline, resume_after=token, max_await_time_ms=self.AWAIT_MS)
        except OperationFailure:
            return None

    def fresh(self, db):
        """A stream from now (its resume_token is the current position)."""
        return db.watch(self.pipeline, max_await_time_ms=self.AWAIT_MS)

    def save(self, db, token):
        db[self.COLLECTION].update_one(
            {"_id": self.name}, {"$set": {"token": token, "at": utcnow()}}, upsert=True
        )

    def skip(self, db):
        """Move the kept position to now, reading nothing."""
        with self.fresh(db) as stream:
            stream.try_next()
            self.save(db, stream.resume_token)
