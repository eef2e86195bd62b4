"""The availability read model: every search card and every night of inventory, in memory
in each API process, kept current from MongoDB's change stream. A search reads no
database.

What it holds, compactly: the cards (catalogue/cards.py, one per room type, with its
hotel's location for `near`), indexed by city, country and hotel; and for each room type
its nights as parallel arrays over consecutive days (price in minor units, allotment,
booked, closed, minimum stay), about 30 bytes a night with the row-id index an update
needs. The model answers the four questions search/availability.py asks a source, so a
search is the same code over the model or the database.

How it follows: one thread opens a change stream on the database's `inventory`,
`search_rooms` and `exchange_rates` collections (the rates a display_currency converts
by, search/currencies.py), then loads them, then applies every change from
the stream (changes made during the load are applied over it; every change carries the
new values, so applying one twice is harmless). A failed stream is resumed after its
last token; a token the server no longer has means a reload.

How fresh a search is (read-your-writes, and more): every write this process's MongoDB
client is answered for has an `operationTime` (plumbing/watermark.py); the area that
wrote records the newest in Redis with the answer cache's generations, after the commit
and before it answers (search/answers.py). A search reads that mark in the same round
trip as its cache lookup and waits until the model has applied the stream up to it -
at most `wait` seconds (SEARCH_MODEL_WAIT_MS), else it reads the database. So a search
that starts after a write was acknowledged, by anyone, through any process, sees it.
The model's position is the cluster time of the changes it applied, and, on a quiet
stream, the `operationTime` of the empty answer before the last one (a getMore answers
with the server's cluster time after reading everything committed up to it).

The booking transaction stays the only arbiter: a night the model shows free and
someone else took a millisecond ago is refused with 409 by the guarded write.
"""

import logging
import threading
import time
from array import array
from collections import defaultdict
from datetime import date

from pymongo.errors import OperationFailure, PyMongoError

from catalogue import cards as search_cards
from plumbing import metrics
from plumbing.values import Day
from search import availability
from search.availability import DatabaseSource, haversine_km
from search.currencies import rate_table

LOG = logging.getLogger(__name__)
RATES = "exchange_rates"
WATCHED = ("inventory", search_cards.COLLECTION, RATES)
# What the model keeps of a row: what a search reads (availability.ROW_FIELDS), with the
# row's _id, which a change event names it by.
ROW_FIELDS = {**availability.ROW_FIELDS, "_id": 1}
IDLE_MS = 20  # how long a quiet stream's getMore waits on the server
STALE_SECONDS = 2.0  # a stream silent this long (errors, a stuck server): read the database
NO_ROW = -1  # an allotment no row has: the night has no inventory
DAY_BITS = 22  # day numbers (date.toordinal) stay below 2**22 until the year 11483
DAY_MASK = (1 << DAY_BITS) - 1
LOAD_BATCH = 2_000  # documents a load reads at a time (a 16 MB batch decodes to ~100 MB)


_DAYS = {}


def _day(ordinal):
    """The stay date of a day number, as the database's rows carry it (shared objects)."""
    found = _DAYS.get(ordinal)
    if found is None:
        found = _DAYS[ordinal] = Day.of(date.fromordinal(ordinal))
    return found


def _ordinal(value):
    return value.toordinal()


class Nights:
    """One room type's nights as parallel arrays from day number `first` on."""

    __slots__ = ("first", "price", "allotment", "booked", "closed", "min_stay")

    def __init__(self):
        self.first = None
        self.price, self.allotment, self.booked = array("q"), array("l"), array("l")
        self.closed, self.min_stay = array("b"), array("l")

    def _columns(self):
        return (self.price, self.allotment, self.booked, self.closed, self.min_stay)

    def _index(self, ordinal):
        """The index of a day, growing the arrays to reach it."""
        if self.first is None:
            self.first = ordinal
        if ordinal < self.first:
            gap = self.first - ordinal
            for column, fill in zip(self._columns(), (0, NO_ROW, 0, 0, 1), strict=True):
                column[0:0] = array(column.typecode, [fill]) * gap
            self.first = ordinal
        index = ordinal - self.first
        if index >= len(self.price):
            gap = index + 1 - len(self.price)
            for column, fill in zip(self._columns(), (0, NO_ROW, 0, 0, 1), strict=True):
                column.extend(array(column.typecode, [fill]) * gap)
        return index

    def put(self, ordinal, row):
        i = self._index(ordinal)
        self.price[i] = row.get("price_minor", 0)
        self.allotment[i] = row.get("allotment", 0)
        self.booked[i] = row.get("booked", 0)
        self.closed[i] = 1 if row.get("closed") else 0
        self.min_stay[i] = row.get("min_stay", 1)

    def change(self, ordinal, fields, removed):
        i = self._index(ordinal)
        if "price_minor" in fields:
            self.price[i] = fields["price_minor"]
        if "allotment" in fields:
            self.allotment[i] = fields["allotment"]
        if "booked" in fields:
            self.booked[i] = fields["booked"]
        if "closed" in fields or "closed" in removed:
            self.closed[i] = 1 if fields.get("closed") else 0
        if "min_stay" in fields or "min_stay" in removed:
            self.min_stay[i] = fields.get("min_stay", 1)

    def drop(self, ordinal):
        if self.first is not None and 0 <= ordinal - self.first < len(self.price):
            self.allotment[ordinal - self.first] = NO_ROW

    def rows(self, room_type, first, end):
        """The rows of days [first, end) that exist, shaped like the database's."""
        found = []
        if self.first is None:
            return found
        for ordinal in range(max(first, self.first), min(end, self.first + len(self.price))):
            i = ordinal - self.first
            if self.allotment[i] == NO_ROW:
                continue
            found.append(
                {
                    "room_type": room_type,
                    "date": _day(ordinal),
                    "price_minor": self.price[i],
                    "allotment": self.allotment[i],
                    "booked": self.booked[i],
                    "closed": bool(self.closed[i]),
                    "min_stay": self.min_stay[i],
                }
            )
        return found


def _set_path(document, path, value):
    *parents, last = path.split(".")
    for key in parents:
        document = document.setdefault(key, {})
    document[last] = value


def _drop_path(document, path):
    *parents, last = path.split(".")
    for key in parents:
        document = document.get(key, {})
    document.pop(last, None)


class Catalogue:
    """The data of the model, with no thread and no database: cards and nights, changed
    one change event at a time, asked what search/availability.py asks a source."""

    name = "model"

    def __init__(self):
        self.cards = {}
        self._by = {
            "city": defaultdict(set),
            "city_key": defaultdict(set),
            "country": defaultdict(set),
            "hotel": defaultdict(set),
        }
        self.nights = defaultdict(Nights)
        self._rows = {}  # inventory row _id's bytes -> its place, packed (_pack)
        self._room_types, self._numbers = [], {}
        self._rates = {}  # exchange-rate documents by _id
        self.rates = rate_table(())

    # -- changes ------------------------------------------------------------------------

    def put_card(self, card):
        self.drop_card(card["_id"])
        self.cards[card["_id"]] = card
        for field, index in self._by.items():
            index[card.get(field)].add(card["_id"])

    def drop_card(self, card_id):
        card = self.cards.pop(card_id, None)
        if card is not None:
            for field, index in self._by.items():
                index[card.get(field)].discard(card_id)

    def change_card(self, card_id, fields, removed):
        card = self.cards.get(card_id)
        if card is None:
            return False
        changed = {**card}
        changed.pop("_offer_parts", None)  # search/availability.py builds them anew
        changed.pop("_stay_lines", None)
        for path, value in fields.items():
            _set_path(changed, path, value)
        for path in removed:
            _drop_path(changed, path)
        self.put_card(changed)
        return True

    # A row's place packed in one int (room type's number, day number): with the row id
    # as its 12 bytes, an entry of the row index costs about 110 bytes, not 220.
    def _pack(self, room_type, ordinal):
        number = self._numbers.get(room_type)
        if number is None:
            number = self._numbers[room_type] = len(self._room_types)
            self._room_types.append(room_type)
        return number << DAY_BITS | ordinal

    def _unpack(self, packed):
        return self._room_types[packed >> DAY_BITS], packed & DAY_MASK

    def put_row(self, row):
        key, ordinal = row["_id"].binary, _ordinal(row["date"])
        place = self._pack(row["room_type"], ordinal)
        old = self._rows.get(key)
        if old is not None and old != place:
            self.nights[self._room_types[old >> DAY_BITS]].drop(old & DAY_MASK)
        self._rows[key] = place
        self.nights[row["room_type"]].put(ordinal, row)

    def change_row(self, row_id, fields, removed):
        """False when the row is unknown or moved (the caller reads it whole)."""
        place = self._rows.get(row_id.binary)
        if place is None or "room_type" in fields or "date" in fields:
            return False
        room_type, ordinal = self._unpack(place)
        self.nights[room_type].change(ordinal, fields, removed)
        return True

    def drop_row(self, row_id):
        place = self._rows.pop(row_id.binary, None)
        if place is not None:
            room_type, ordinal = self._unpack(place)
            self.nights[room_type].drop(ordinal)

    def put_rate(self, document):
        self._rates[document["_id"]] = document
        self.rates = rate_table(self._rates.values())

    def drop_rate(self, rate_id):
        self._rates.pop(rate_id, None)
        self.rates = rate_table(self._rates.values())

    def apply(self, change, read_whole):
        """One change event. `read_whole(collection, _id)` reads a document the event does
        not carry enough of (a moved row, an update to something not held)."""
        kind, collection = change["operationType"], change["ns"]["coll"]
        key = change.get("documentKey", {}).get("_id")
        if collection == RATES:  # a handful of documents: each change read whole
            whole = read_whole(collection, key) if kind != "delete" else None
            self.put_rate(whole) if whole is not None else self.drop_rate(key)
        elif kind in ("insert", "replace"):
            self._put(collection, change["fullDocument"])
        elif kind == "delete":
            (self.drop_row if collection == "inventory" else self.drop_card)(key)
        elif kind == "update":
            description = change["updateDescription"]
            fields, removed = (
                description.get("updatedFields", {}),
                description.get("removedFields", []),
            )
            changer = self.change_row if collection == "inventory" else self.change_card
            if description.get("truncatedArrays") or not changer(key, fields, removed):
                whole = read_whole(collection, key)
                if whole is not None:
                    self._put(collection, whole)

    def _put(self, collection, document):
        (self.put_row if collection == "inventory" else self.put_card)(document)

    def size(self):
        """(room types, nights) held."""
        return len(self.cards), len(self._rows)

    # -- a search's questions (search/availability.py's source) --------------------------

    def cards_where(self, where):
        if not where:
            return list(self.cards.values())
        ((field, wanted),) = where.items()
        if isinstance(wanted, dict):  # {"$in": [...]}
            ids = set().union(*(self._by[field].get(v, ()) for v in wanted["$in"]))
        else:
            ids = self._by[field].get(wanted, ())
        return [self.cards[i] for i in ids]

    def width(self, cities):
        return sum(len(self._by["city_key"].get(city, ())) for city in cities)

    def cities(self):
        return [city for city, ids in self._by["city"].items() if ids]

    def rows_of(self, cards, check_in, check_out):
        first, end = _ordinal(check_in), _ordinal(check_out)
        found = []
        for room_type in cards:
            nights = self.nights.get(room_type)
            if nights is not None:
                found.extend(nights.rows(room_type, first, end))
        return found

    def near(self, point, max_km, distance):
        """{hotel id: km} for hotels with a card within max_km of point."""
        found = {}
        for card in self.cards.values():
            if card.get("location") and card["hotel"] not in found:
                km = distance(point, card["location"])
                if km <= max_km:
                    found[card["hotel"]] = km
        return found


class Snapshot:
    """A search source over the model, read under its lock (search/availability.py)."""

    name = "model"

    def __init__(self, model):
        self._model = model

    def cards(self, where):
        with self._model.lock:
            return self._model.catalogue.cards_where(where)

    def width(self, cities):
        with self._model.lock:
            return self._model.catalogue.width(cities)

    def rows(self, cards, check_in, check_out):
        with self._model.lock:
            return self._model.catalogue.rows_of(cards, check_in, check_out)

    def near(self, point, max_km):
        with self._model.lock:
            return self._model.catalogue.near(point, max_km, haversine_km)

    def rates(self):
        return self._model.catalogue.rates  # replaced whole on a change, never mutated

    def cities(self):
        with self._model.lock:
            return self._model.catalogue.cities()


class ReadModel:
    """See the module doc. `start(db)` begins following (idempotent); `source(written)`
    is a Snapshot once the model has applied the stream up to `written` (a cluster time,
    or None), waiting at most `wait` seconds, else None (the caller reads the database)."""

    def __init__(self, enabled=True, wait=0.1, idle_ms=IDLE_MS):
        self.enabled, self.wait, self.idle_ms = enabled, wait, idle_ms
        self.stale_seconds = STALE_SECONDS
        self.lock = threading.Lock()
        self.catalogue = Catalogue()
        self._moved = threading.Condition()
        self._position = None  # every change at or before this cluster time is applied
        self._heard = 0.0  # monotonic time of the stream's last answer
        self._ready = False
        self._thread = None
        self._stop = threading.Event()
        self._db = None
        self.loads = 0
        self.errors = 0

    @property
    def ready(self):
        return self._ready

    @property
    def position(self):
        return self._position

    def start(self, db):
        if not self.enabled or self._thread is not None:
            return
        with self._moved:
            if self._thread is not None:
                return
            self._db = db
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="search-model", daemon=True)
            self._thread.start()

    def stop(self):
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5)
        self._thread = None

    def wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        with self._moved:
            while not self._ready and time.monotonic() < deadline:
                self._moved.wait(max(0.0, deadline - time.monotonic()))
        return self._ready

    def source(self, written):
        """A Snapshot to search, or None: not loaded yet, the stream silent too long, or
        not caught up with `written` within the wait."""
        if not self._ready or time.monotonic() - self._heard > self.stale_seconds:
            return None
        if written is not None and not self._reached(written):
            deadline = time.monotonic() + self.wait
            with self._moved:
                while not self._reached(written):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        metrics.event("search.model_behind")
                        return None
                    self._moved.wait(left)
        return Snapshot(self)

    def _reached(self, written):
        return self._position is not None and self._position >= written

    def _advance(self, position):
        if position is not None and (self._position is None or position > self._position):
            with self._moved:
                self._position = position
                self._moved.notify_all()

    # -- the follower thread ------------------------------------------------------------

    def _read_whole(self, collection, key):
        fields = ROW_FIELDS if collection == "inventory" else None
        return self._db[collection].find_one({"_id": key}, fields)

    def _load(self):
        catalogue = Catalogue()
        for card in self._db[search_cards.COLLECTION].find():
            catalogue.put_card(card)
        for row in self._db.inventory.find({}, ROW_FIELDS, batch_size=LOAD_BATCH):
            catalogue.put_row(row)
        for rate in self._db[RATES].find():
            catalogue.put_rate(rate)
        with self.lock:
            self.catalogue = catalogue
        self.loads += 1

    def _run(self):
        backoff = 0.1
        self._token = None
        pipeline = [{"$match": {"ns.coll": {"$in": list(WATCHED)}}}]
        while not self._stop.is_set():
            try:
                client = self._db.client
                with client.start_session(causal_consistency=False) as session:
                    try:
                        stream = self._db.watch(
                            pipeline,
                            resume_after=self._token,
                            max_await_time_ms=self.idle_ms,
                            session=session,
                        )
                    except OperationFailure:
                        if self._token is None:
                            raise
                        self._token = None  # the server no longer has it: load afresh
                        continue
                    with stream:
                        if self._token is None:
                            started = time.monotonic()
                            self._load()
                            LOG.info(
                                "search read model loaded: %d room types, %d nights in %.2f s",
                                *self.catalogue.size(),
                                time.monotonic() - started,
                            )
                        backoff = self._follow(stream, session)
            except PyMongoError as error:
                self.errors += 1
                metrics.backend_error("mongo", "unreachable")
                LOG.warning("search read model: change stream failed (%s), retrying", error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _follow(self, stream, session):
        last_time, quiet_time = None, None
        while not self._stop.is_set() and stream.alive:
            change = stream.try_next()
            self._token = stream.resume_token
            self._heard = time.monotonic()
            if not self._ready:
                with self._moved:
                    self._ready = True
                    self._moved.notify_all()
            if change is None:
                # Everything up to the last change's time is applied, and everything the
                # server had committed when it answered the empty read before this one.
                self._advance(last_time)
                self._advance(quiet_time)
                quiet_time = session.operation_time
                continue
            quiet_time = None
            time_of = change.get("clusterTime")
            if last_time is not None and time_of is not None and time_of > last_time:
                self._advance(last_time)  # a transaction's changes share their time
            with self.lock:
                self.catalogue.apply(change, self._read_whole)
            last_time = time_of or last_time
        return 0.1


def source_of(model, db, written):
    """What a search reads: the model (started on first use) when it is caught up with
    `written`, else the database."""
    model.start(db)
    return model.source(written) or DatabaseSource(db)
