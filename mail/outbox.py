"""The outbox: every message to send, written before it is sent, sent by the worker.

A message is a document in `outbox` with an id that names what it is about
(`booking:<id>:confirmed`, `reset:<token id>`): writing it is an upsert that never
replaces, so whoever writes it twice (a feed applying a change again after a crash, two
workers) leaves one message. It is rendered when it is written (what happened, as it
was) and sent later by the `mail delivery` job, never inside a request: a slow or
failing SMTP server never slows a booking.

Delivery claims a message with a guarded update (pending and due -> sending, with a
lease), sends it, then marks it sent. A failure puts it back with exponential backoff
and jitter (1 minute doubling, at most 6 hours) until MAX_ATTEMPTS, then `failed`. A
worker that dies mid-send leaves the message `sending`; once its lease has passed
another pass sends it again with the same Message-ID, so a receiver that had it
already can tell (a crash between the server's acceptance and the mark is the one
window for a second copy: milliseconds).
"""

import hashlib
import time
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from pymongo import ASCENDING, UpdateOne

from plumbing import logs, mailer, metrics
from plumbing.jobs import Job, claim, retry_at
from plumbing.values import utcnow

COLLECTION = "outbox"
LEASE_SECONDS = 60
MAX_ATTEMPTS = 12
FIRST_RETRY_SECONDS = 60
LAST_RETRY_SECONDS = 6 * 3600
BATCH = 20


def provision(db):
    db[COLLECTION].create_index([("status", ASCENDING), ("next_at", ASCENDING)], name="due")
    db[COLLECTION].create_index([("booking", ASCENDING)], name="booking", sparse=True)


def _upsert(message_id, to, subject, text, html, attachments=(), **about):
    """(filter, update) of a message to send (once: an id already written keeps its first
    message). `about` is what it concerns (booking, hotel, user), kept for the admin."""
    now = utcnow()
    return (
        {"_id": message_id},
        {
            "$setOnInsert": {
                "to": to,
                "subject": subject,
                "text": text,
                "html": html,
                "attachments": list(attachments),
                "status": "pending",
                "attempts": 0,
                "next_at": now,
                "created": now,
                **about,
            }
        },
    )


def enqueue(db, message_id, to, subject, text, html, attachments=(), session=None, **about):
    """Write a message to send (once: an id already written keeps its first message)."""
    found, update = _upsert(message_id, to, subject, text, html, attachments, **about)
    db[COLLECTION].update_one(found, update, upsert=True, session=session)


def about_booking(message_id, booking, kind, message):
    """The write of a message about a booking (kept with it and its hotel, for the
    admin), for enqueue_all; None when its guest has no address."""
    if not message["to"]:
        return None
    about = {"booking": booking["_id"], "hotel": booking["hotel"], "kind": kind}
    return UpdateOne(*_upsert(message_id, **about, **message), upsert=True)


def enqueue_all(db, writes):
    """Write a feed pass's messages in one unordered bulk; how many were new."""
    writes = [w for w in writes if w is not None]
    if not writes:
        return 0
    return db[COLLECTION].bulk_write(writes, ordered=False).upserted_count


def enqueue_about(db, message_id, booking, kind, message):
    """A message about a booking written alone (a hold reminder); False, writing nothing,
    when its guest has no address."""
    write = about_booking(message_id, booking, kind, message)
    if write is not None:
        enqueue_all(db, [write])
    return write is not None


def message_id_header(message_id, sender):
    """A stable Message-ID: the same message sent again carries the same one."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "innkeeper.invalid"
    digest = hashlib.blake2b(message_id.encode(), digest_size=12).hexdigest()
    return f"<{digest}@{domain}>"


def as_email(document, sender):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = document["to"]
    message["Subject"] = document["subject"]
    message["Date"] = formatdate(document["created"].timestamp(), usegmt=True)
    message["Message-ID"] = message_id_header(document["_id"], sender)
    message.set_content(document["text"])
    if document.get("html"):
        message.add_alternative(document["html"], subtype="html")
    for attachment in document.get("attachments") or ():
        maintype, subtype = attachment["content_type"].split("/", 1)
        message.add_attachment(
            bytes(attachment["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
        )
    return message


PASS_SECONDS = 1.5


def deliver(db, smtp_url, sender, owner="worker", now=None, send=None):
    """Send what is due (pending, or `sending` past its lease), a batch at a time for up
    to PASS_SECONDS, on one SMTP connection (`send(url, message)` replaces it); returns
    (sent, failed)."""
    sent = failed = 0
    deadline = time.monotonic() + PASS_SECONDS
    with mailer.Connection(smtp_url) as connection:
        send = send or connection.send
        while True:
            batch_sent, batch_failed, full = _deliver_batch(db, smtp_url, sender, owner, now, send)
            sent, failed = sent + batch_sent, failed + batch_failed
            if not full or time.monotonic() >= deadline:
                return sent, failed


def _deliver_batch(db, smtp_url, sender, owner, now, send):
    now = now or utcnow()
    due = list(
        db[COLLECTION]
        .find({"status": {"$in": ["pending", "sending"]}, "next_at": {"$lte": now}})
        .sort("next_at", ASCENDING)
        .limit(BATCH)
    )
    delivered, failed = [], 0
    claimed = claim(db[COLLECTION], [m["_id"] for m in due], now, owner, LEASE_SECONDS)
    for message in claimed:
        try:
            send(smtp_url, as_email(message, sender))
        except mailer.MailError as error:
            attempts = message.get("attempts", 0) + 1
            gave_up = attempts >= MAX_ATTEMPTS
            db[COLLECTION].update_one(
                {"_id": message["_id"], "claimed_by": message["claimed_by"]},
                {
                    "$set": {
                        "status": "failed" if gave_up else "pending",
                        "attempts": attempts,
                        "next_at": None
                        if gave_up
                        else retry_at(now, attempts, FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS),
                        "error": str(error)[:500],
                    }
                },
            )
            metrics.event("mail.failed" if gave_up else "mail.retried")
            failed += 1
            continue
        delivered.append(message)
    if delivered:
        # The batch's sent ones in one update (a crash before it sends them again, with
        # the same Message-ID: at least once, as a mail server's own retries are).
        db[COLLECTION].update_many(
            {
                "_id": {"$in": [m["_id"] for m in delivered]},
                "claimed_by": delivered[0]["claimed_by"],
            },
            {
                "$set": {"status": "sent", "sent_at": utcnow(), "next_at": None},
                "$inc": {"attempts": 1},
                "$unset": {"error": ""},
            },
        )
        for _ in delivered:
            metrics.event("mail.sent")
    return len(delivered), failed, len(due) == BATCH


def recent(db, limit=100):
    """The newest messages, for the admin's outbox (without their attachments' bytes)."""
    return list(
        db[COLLECTION]
        .find({}, {"attachments.data": 0, "html": 0, "text": 0})
        .sort("created", -1)
        .limit(limit)
    )


def of_booking(db, booking_id):
    """What a booking's guest has been sent, oldest first (index `booking`)."""
    return list(
        db[COLLECTION]
        .find({"booking": booking_id}, {"subject": 1, "status": 1, "created": 1, "sent_at": 1})
        .sort("created", ASCENDING)
    )


def one(db, message_id):
    return db[COLLECTION].find_one({"_id": message_id}, {"attachments.data": 0})


def send_again(db, message_id):
    """An admin's replay: the message goes out again on the next delivery pass (with
    the same Message-ID); True when there was one not already waiting."""
    replayed = db[COLLECTION].update_one(
        {"_id": message_id, "status": {"$in": ["sent", "failed"]}},
        {"$set": {"status": "pending", "next_at": utcnow(), "attempts": 0}},
    )
    return replayed.modified_count == 1


def _deliver(context):
    """Start sending on the app's mail thread (if it is not sending already): a backlog
    of mail is sent continuously while the worker's other jobs keep their turns."""
    settings, db = context.services["mail"], context.db

    def send_what_is_due():
        sent, failed = deliver(db, settings.smtp_url, settings.sender, owner=settings.owner)
        if sent or failed:
            logs.LOG.info("mail delivery", sent=sent, to_try_again=failed)
        return sent or failed

    context.services["mail_sender"].kick(send_what_is_due)
    return None


JOBS = (Job("mail delivery", every=2, run=_deliver),)
