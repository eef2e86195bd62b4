"""Guests' mail through a real SMTP server (aiosmtpd): written from the bookings' change
stream once, sent by the worker, retried; password resets by mail."""

import asyncio
import re
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from bson import ObjectId
from icalendar import Calendar

import settings
from mail import follow, outbox, reminders
from plumbing.embedded import free_port
from plumbing.jobs import JobContext
from plumbing.values import utcnow
from tests.conftest import stock_room_type, wait_for
from tests.factories import change, make_booking, pay
from tests.support import csrf, kill_worker_when, sign_in, unpaid_booking


def _work(app):
    """One pass of the worker's mail jobs: the feed, then delivery (here, not on the
    worker's mail thread)."""
    context = JobContext(app.data.driver.db, app.extensions)
    for job in follow.JOBS:
        job.run(context)
    mail = app.extensions["mail"]
    outbox.deliver(context.db, mail.smtp_url, mail.sender)


def _start_feed(app, db):
    """The mail feed's first pass keeps a position: mail is about what happens after."""
    follow.drain(db, app.config["PUBLIC_URL"])


def _mails(smtp, email, subject):
    """The messages `email` got whose subject starts with `subject`."""
    return [m for m in smtp.inbox.to(email) if m["Subject"].startswith(subject)]


def _paid_and_mailed(app, db, guest, stock):
    """A booking paid (two nights, 300.50 EUR) after the feed began, then a pass of the
    mail jobs: its confirmation and receipt are sent."""
    _start_feed(app, db)
    booking = unpaid_booking(guest, stock)
    assert pay(guest, booking).status_code == 201
    _work(app)
    return booking


def _body(message, subtype):
    return message.get_body(preferencelist=(subtype,)).get_content().replace("\r\n", "\n")


def test_a_paid_booking_mails_its_confirmation_once_with_the_stay_as_ics(
    app, db, guest, stock, smtp
):
    booking = _paid_and_mailed(app, db, guest, stock)
    _work(app)  # a second pass writes and sends nothing more
    (message,) = _mails(smtp, guest.user["email"], "Booking confirmed")
    (receipt,) = _mails(smtp, guest.user["email"], "Payment receipt")
    assert "Amount: 300.50 EUR" in _body(receipt, "plain")
    assert len(smtp.inbox.to(guest.user["email"])) == 2
    code = booking["confirmation_code"]
    assert message["Subject"].startswith("Booking confirmed: ") and code in message["Subject"]
    assert message["From"] == app.config["MAIL_FROM"]
    text = _body(message, "plain")
    for expected in (
        code,
        f"Arrival: {booking['check_in']}",
        f"Departure: {booking['check_out']} (2 nights)",
        "Total: 300.50 EUR",
        "Cancellation: ",
        f"/api/v1/bookings/{booking['_id']}",
    ):
        assert expected in text, (expected, text)
    assert code in _body(message, "html")
    (ics,) = [part for part in message.iter_attachments() if part.get_filename() == "stay.ics"]
    (event,) = Calendar.from_ical(ics.get_content()).walk("VEVENT")
    assert event.decoded("dtstart").isoformat() == booking["check_in"]
    assert event.decoded("dtend").isoformat() == booking["check_out"]
    assert code in str(event["description"])
    sent = db.outbox.find_one({"_id": f"booking:{booking['_id']}:confirmed"})
    assert (sent["status"], sent["attempts"]) == ("sent", 1)


def test_the_confirmation_shows_what_the_all_in_total_is_made_of(
    app, db, guest, make_hotel, make_room_type, admin, smtp
):
    taxes = {"vat_percent": 10, "city_tax": {"per_person_per_night": "2.88"}}
    kind = make_room_type(make_hotel(taxes=taxes))
    start = stock_room_type(admin, kind, nights=2, price="100.00")
    _start_feed(app, db)
    booking = make_booking(guest, kind, start, nights=2, adults=2)
    assert pay(guest, booking).status_code == 201
    _work(app)
    (message,) = _mails(smtp, guest.user["email"], "Booking confirmed")
    text = _body(message, "plain")
    # 200.00 with 10 % VAT in it (200.00 - 181.82 = 18.18); city tax 2.88 x 2 x 2 = 11.52
    for line in (
        "Rooms: 200.00 EUR",
        "VAT 10 % (included): 18.18 EUR",
        "City tax: 11.52 EUR",
        "Total: 211.52 EUR (all taxes and fees)",
    ):
        assert line in text, (line, text)
    assert "City tax</th><td>11.52 EUR" in _body(message, "html")


def test_a_cancellation_mails_the_refund(app, db, guest, stock, smtp):
    _start_feed(app, db)
    booking = unpaid_booking(guest, stock)
    assert pay(guest, booking).status_code == 201
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200
    _work(app)
    subjects = [m["Subject"].split(":")[0] for m in smtp.inbox.to(guest.user["email"])]
    subjects.remove("Payment receipt")
    assert subjects == ["Booking confirmed", "Booking cancelled"]  # in commit order
    (notice,) = _mails(smtp, guest.user["email"], "Booking cancelled")
    assert f"Refund: {cancelled.json['refund_amount']} EUR" in _body(notice, "plain")


def test_the_feed_applied_again_writes_no_second_message(app, db, guest, stock, smtp):
    """A pass that crashed before saving its position applies the same changes again."""
    _start_feed(app, db)
    kept = db.feed_positions.find_one({"_id": follow.FEED})
    booking = unpaid_booking(guest, stock)
    assert pay(guest, booking).status_code == 201
    _work(app)
    db.feed_positions.replace_one({"_id": follow.FEED}, kept)  # as if never saved
    _work(app)
    assert len(_mails(smtp, guest.user["email"], "Booking confirmed")) == 1
    assert len(_mails(smtp, guest.user["email"], "Payment receipt")) == 1
    assert db.outbox.count_documents({"booking": db.bookings.find_one()["_id"]}) == 2


def test_an_smtp_server_refusing_mail_is_tried_again_later_with_backoff(
    app, db, guest, stock, smtp
):
    _start_feed(app, db)
    smtp.inbox.refusing = True
    booking = unpaid_booking(guest, stock)
    assert pay(guest, booking).status_code == 201  # the booking never waits for mail
    _work(app)
    waiting = db.outbox.find_one({"_id": f"booking:{booking['_id']}:confirmed"})
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1)
    assert "451" in waiting["error"]
    assert 30 <= (waiting["next_at"] - utcnow()).total_seconds() <= 60
    smtp.inbox.refusing = False
    _work(app)
    assert smtp.inbox.to(guest.user["email"]) == []  # not before its time
    mail = app.extensions["mail"]
    sent, failed = outbox.deliver(db, mail.smtp_url, mail.sender, now=waiting["next_at"])
    assert sent >= 1 and failed == 0  # the receipt too, if its jittered turn has come
    assert len(_mails(smtp, guest.user["email"], "Booking confirmed")) == 1


def test_a_message_claimed_by_a_worker_that_died_is_sent_once_its_lease_passes(
    app, db, guest, stock, smtp
):
    _start_feed(app, db)
    booking = make_booking(guest, *stock(nights=2))
    assert pay(guest, booking).status_code == 201
    follow.drain(db, app.config["PUBLIC_URL"])
    mail = app.extensions["mail"]

    def dies(url, message):
        raise SystemExit("the worker was killed mid-send")

    db.outbox.delete_many({"kind": "payment.receipt"})  # one message, for clarity
    with pytest.raises(SystemExit):
        outbox.deliver(db, mail.smtp_url, mail.sender, owner="dead", send=dies)
    claimed = db.outbox.find_one()
    assert claimed["status"] == "sending"
    assert outbox.deliver(db, mail.smtp_url, mail.sender) == (0, 0)  # its lease holds
    later = utcnow() + timedelta(seconds=outbox.LEASE_SECONDS + 1)
    assert outbox.deliver(db, mail.smtp_url, mail.sender, now=later) == (1, 0)
    (message,) = smtp.inbox.to(guest.user["email"])
    assert message["Message-ID"] == outbox.message_id_header(claimed["_id"], mail.sender)


def _reset(client, email):
    return client.post("auth/password-reset", {"email": email})


def _token(smtp, email):
    text = _body(smtp.inbox.to(email)[-1], "plain")
    return text.split("valid for 30 minutes and once:\n\n", 1)[1].split("\n", 1)[0]


def test_a_forgotten_password_is_reset_by_a_single_use_mailed_token(app, client, guest, smtp):
    email = guest.user["email"]
    asked = _reset(client, email)
    assert asked.status_code == 202
    unknown = _reset(client, "nobody@example.com")
    assert (unknown.status_code, unknown.json) == (202, asked.json)  # says nothing more
    _work(app)
    (message,) = smtp.inbox.to(email)
    assert message["Subject"] == "Reset your Innkeeper password"
    token = _token(smtp, email)
    done = client.post("auth/password-reset/confirm", {"token": token, "password": "n" * 12})
    assert done.status_code == 200
    assert guest.get("me").status_code == 401  # tokens issued before are revoked
    signed = client.post("auth/token", {"email": email, "password": "n" * 12})
    assert signed.status_code == 200
    again = client.post("auth/password-reset/confirm", {"token": token, "password": "m" * 12})
    assert again.status_code == 400 and again.json["_issues"] == {
        "token": "invalid, used or expired"
    }


def test_a_new_reset_revokes_the_older_tokens_and_tokens_expire(app, db, client, guest, smtp):
    email = guest.user["email"]
    for _ in range(2):
        assert _reset(client, email).status_code == 202
    _work(app)
    first, second = (
        _body(m, "plain").split("once:\n\n", 1)[1].split("\n", 1)[0] for m in smtp.inbox.to(email)
    )
    assert (
        client.post(
            "auth/password-reset/confirm", {"token": second, "password": "n" * 12}
        ).status_code
        == 200
    )
    assert (
        client.post(
            "auth/password-reset/confirm", {"token": first, "password": "m" * 12}
        ).status_code
        == 400
    )
    assert _reset(client, email).status_code == 202
    _work(app)
    db.password_resets.update_many({}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}})
    late = client.post(
        "auth/password-reset/confirm", {"token": _token(smtp, email), "password": "m" * 12}
    )
    assert late.status_code == 400
    assert db.password_resets.count_documents({"digest": {"$exists": True}}) == 3
    assert all(len(r["digest"]) == 64 for r in db.password_resets.find())  # only hashes


def test_reset_bodies_are_checked_field_by_field(client):
    bad = client.post("auth/password-reset", {"email": 7})
    assert bad.status_code == 422 and "email" in bad.json["_issues"]
    short = client.post("auth/password-reset/confirm", {"token": "x", "password": "short"})
    assert short.status_code == 422 and "password" in short.json["_issues"]


def test_production_without_smtp_refuses_to_start_naming_it(monkeypatch):
    monkeypatch.setenv("MONGO_URI", "mongodb://db.example:27017")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PAYMENT_SANDBOX_ALLOWED", "1")
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", "w" * 40)
    monkeypatch.delenv("SMTP_URL", raising=False)
    with pytest.raises(settings.ConfigError, match="SMTP_URL is not"):
        settings.load()
    monkeypatch.setenv("SMTP_URL", "http://mail.example")
    with pytest.raises(settings.ConfigError, match="SMTP_URL must start with smtp:// or smtps://"):
        settings.load()
    monkeypatch.setenv("SMTP_URL", "smtp://mail.example:587")
    assert settings.load()["SMTP_URL"] == "smtp://mail.example:587"


def test_the_admin_outbox_shows_each_message_as_the_guest_sees_it_and_sends_again(
    app, db, guest, stock, smtp, login
):
    booking = _paid_and_mailed(app, db, guest, stock)
    admin = app.test_client()
    operator = login("admin")
    assert sign_in(admin, operator.user["email"]).status_code == 302
    listed = admin.get("/admin/outbox/")
    assert listed.status_code == 200
    assert guest.user["email"] in listed.text and booking["confirmation_code"] in listed.text
    message_id = f"booking:{booking['_id']}:confirmed"
    page = admin.get(f"/admin/outbox/{message_id}")
    assert page.status_code == 200
    assert 'sandbox="" srcdoc="' in page.text and "stay.ics (text/calendar)" in page.text
    resent = admin.post(f"/admin/outbox/{message_id}", data={"csrf_token": csrf(page.text)})
    assert resent.status_code == 302
    _work(app)
    first, again = _mails(smtp, guest.user["email"], "Booking confirmed")
    assert first["Message-ID"] == again["Message-ID"]  # the receiver can tell it is one
    forged = admin.post(f"/admin/outbox/{message_id}", data={"csrf_token": "forged"})
    assert forged.status_code == 400 and "the form expired" in forged.text
    unknown = admin.get("/admin/outbox/booking:nothing:confirmed")
    assert unknown.status_code == 404 and "no message booking:nothing:confirmed" in unknown.text
    managers = app.test_client()
    assert sign_in(managers, login("manager").user["email"]).status_code == 302
    assert managers.get("/admin/outbox/").status_code == 403


def test_a_hold_about_to_lapse_is_reminded_once(app, db, guest, stock, smtp):
    booking = unpaid_booking(guest, stock)
    ends = db.bookings.find_one()["hold_expires_at"]
    early = ends - timedelta(minutes=reminders.REMIND_MINUTES + 1)
    assert reminders.remind(db, app.config["PUBLIC_URL"], now=early) == 0  # not yet
    soon = ends - timedelta(minutes=3)
    for _ in range(2):  # every pass finds it; the second writes nothing new
        assert reminders.remind(db, app.config["PUBLIC_URL"], now=soon) == 1
    _work(app)
    (message,) = smtp.inbox.to(guest.user["email"])
    assert message["Subject"].startswith("Pay to keep your booking: ")
    assert f"until {ends.strftime('%H:%M')} UTC, in 3 minutes" in _body(message, "plain")
    assert booking["confirmation_code"] in message["Subject"]


def test_nobody_is_mailed_about_the_past(app, db, guest, stock, smtp):
    """A history written in bulk (the demo seed's) goes through the feed unmailed."""
    _start_feed(app, db)
    booking = unpaid_booking(guest, stock)
    long_ago = utcnow() - timedelta(days=3)
    db.bookings.update_one(
        {"confirmation_code": booking["confirmation_code"]},
        {"$set": {"status": "confirmed", "confirmed_at": long_ago}},
    )
    _work(app)
    assert smtp.inbox.to(guest.user["email"]) == []
    assert db.outbox.count_documents({}) == 0


class _Stalling:
    """An SMTP server that takes a message's DATA and never answers it."""

    def __init__(self):
        self.reached = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.reached.set()
        await asyncio.sleep(60)
        return "250 OK"


def test_a_worker_killed_mid_send_sends_the_message_once_after_its_lease(
    app, app_config, db, guest, stock, smtp
):
    """A real `flask --app run worker` process, SIGKILLed while the SMTP server holds its
    DATA: the batch it had claimed (the confirmation and the receipt) stays `sending`
    under its lease; once the lease has passed the next delivery sends each, once, and
    the killed attempt delivered nothing."""
    _start_feed(app, db)
    booking = make_booking(guest, *stock(nights=2))
    assert pay(guest, booking).status_code == 201
    stalling = _Stalling()
    port = free_port()
    controller = Controller(stalling, hostname="127.0.0.1", port=port)
    controller.start()
    try:  # the SMTP server holds its DATA
        kill_worker_when(app_config, stalling.reached, SMTP_URL=f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()
    claimed = db.outbox.count_documents({"status": "sending"})  # its batch
    assert claimed >= 1 and db.outbox.count_documents({}) == 2
    mail = app.extensions["mail"]
    waiting = db.outbox.count_documents({"status": "pending"})  # one not claimed yet, if any
    assert outbox.deliver(db, mail.smtp_url, mail.sender)[0] == waiting  # the lease holds
    later = utcnow() + timedelta(seconds=outbox.LEASE_SECONDS + 1)
    assert outbox.deliver(db, mail.smtp_url, mail.sender, now=later) == (claimed, 0)
    subjects = sorted(m["Subject"].split(":")[0] for m in smtp.inbox.to(guest.user["email"]))
    assert subjects == ["Booking confirmed", "Payment receipt"]  # each once
    assert {m["status"] for m in db.outbox.find()} == {"sent"}


def test_the_hotels_manager_resends_a_confirmation_from_the_bookings_page(
    app, db, guest, manager, stock, smtp
):
    booking = _paid_and_mailed(app, db, guest, stock)
    panel = app.test_client()
    assert sign_in(panel, manager.user["email"]).status_code == 302
    page = panel.get(f"/admin/bookings/details/?id={booking['_id']}").text
    assert "Mail to the guest" in page and "Booking confirmed: " in page
    assert "/admin/outbox/" not in page  # the outbox itself is for admins
    form = re.search(
        r'<form method="POST" action="([^"]+)"[^>]*>(?:(?!</form>).)*value="resend".*?</form>',
        page,
        re.S,
    )
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form.group()))
    done = panel.post(form.group(1), data=fields)
    assert done.status_code == 302
    assert "goes out again" in panel.get(done.headers["Location"]).text
    _work(app)
    assert len(_mails(smtp, guest.user["email"], "Booking confirmed")) == 2


def test_a_change_mails_the_new_stay_and_what_it_charged(app, db, guest, stock, smtp):
    _start_feed(app, db)
    room_type, start = stock(nights=3, allotment=2, price="100.00")
    booking = make_booking(guest, room_type, start, nights=2)
    assert pay(guest, booking).status_code == 201
    current = guest.get(f"bookings/{booking['_id']}").json
    longer = change(
        guest,
        current,
        {"check_out": str(start.plus(3)), "payment_method": "pm_card_visa"},
    )
    assert longer.status_code == 200, longer.json
    _work(app)
    (notice,) = _mails(smtp, guest.user["email"], "Booking changed")
    text = _body(notice, "plain")
    assert f"Departure: {start.plus(3)} (3 nights)" in text
    assert "Total: 300.00 EUR" in text and "Charged for the change: 100.00 EUR" in text
    receipts = [_body(m, "plain") for m in _mails(smtp, guest.user["email"], "Payment receipt")]
    assert any("the change to your booking" in r and "100.00 EUR" in r for r in receipts)
    stored = db.bookings.find_one({"_id": ObjectId(booking["_id"])})["last_change"]
    assert (str(stored["charged"]), str(stored["refunded"])) == ("100.00", "0.00")


def test_the_delivery_job_sends_a_backlog_on_the_mail_thread(
    app, db, guest, stock, smtp, monkeypatch
):
    """The job only starts the app's mail thread, which sends batch after batch while
    anything is due: a backlog never waits for the worker's other jobs."""
    _start_feed(app, db)
    for _ in range(3):
        booking = unpaid_booking(guest, stock)
        assert pay(guest, booking).status_code == 201
    follow.drain(db, app.config["PUBLIC_URL"])
    monkeypatch.setattr(outbox, "BATCH", 2)  # several batches
    (job,) = outbox.JOBS
    assert job.run(JobContext(db, app.extensions)) is None  # returns at once
    wait_for(lambda: len(smtp.inbox.to(guest.user["email"])) == 6, what="six messages")
    # a batch is marked sent once the server took it: the last just after its messages
    wait_for(lambda: {m["status"] for m in db.outbox.find()} == {"sent"}, what="all sent")
