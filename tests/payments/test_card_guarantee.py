"""Pay at the hotel: the card saved as a guarantee, nothing charged at booking; a late
cancellation or a no-show charged what the policy keeps, once; a refused fee is a debt.
On the sandbox provider (tests/payments/test_localstripe.py runs the same against localstripe)."""

import re
from datetime import timedelta

from bson import ObjectId

from booking import reconcile
from payments import fees
from plumbing.values import today, utcnow
from reporting import kpis
from tests.factories import AT_HOTEL, change, make_booking, no_show, pay, search

PREPAID = {"code": "flexible", "name": "Flexible"}


def guaranteed(guest, stock, start=None, nights=2, method="pm_card_visa", plans=None):
    """A confirmed pay-at-the-hotel booking at 100.00 a night; (booking, its payment)."""
    start = start or today().plus(10)
    room_type, _ = stock(nights=nights, start=start, rate_plans=plans or [AT_HOTEL])
    booking = make_booking(guest, room_type, start, nights=nights, rate_plan="pay-at-hotel")
    paid = pay(guest, booking, method)
    assert paid.status_code == 201, paid.json
    return guest.get(f"bookings/{booking['_id']}").json, paid.json


def payments_of(db, booking):
    return list(db.payments.find({"booking": ObjectId(booking["_id"])}).sort("_created", 1))


def test_the_offer_says_it_is_paid_at_the_hotel_and_what_a_late_cancellation_costs(stock, client):
    room_type, start = stock(nights=2, rate_plans=[PREPAID, AT_HOTEL])
    offers = search(client, room_type, start, nights=2)
    plan = {o["rate_plan"]["code"]: o["rate_plan"] for o in offers}["pay-at-hotel"]
    assert plan["payment"] == "at_hotel" and plan["refundable"] is True
    assert plan["summary"].startswith("Pay at the hotel: nothing is charged now")
    assert "a later cancellation or a no-show is charged 50 % of the total" in plan["summary"]


def test_the_card_is_saved_and_nothing_is_charged(guest, stock, db):
    booking, paid = guaranteed(guest, stock)
    assert paid["purpose"] == "guarantee" and paid["amount"] == "0.00"
    assert paid["provider_reference"].startswith("seti_")
    assert booking["status"] == "confirmed" and booking["payment"] == "at_hotel"
    assert booking["total_price"] == "200.00"
    stored = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    assert stored["guarantee"]["payment_method"] == "pm_card_visa"
    assert stored["guarantee"]["customer"].startswith("cus_")
    assert [p["purpose"] for p in payments_of(db, booking)] == ["guarantee"]


def held(guest, stock):
    """A pay-at-the-hotel booking ten days ahead, two nights, its card not yet saved."""
    start = today().plus(10)
    room_type, _ = stock(nights=2, start=start, rate_plans=[AT_HOTEL])
    return make_booking(guest, room_type, start, nights=2)


def test_a_declined_card_guarantees_nothing_and_another_card_can(guest, stock, db):
    booking = held(guest, stock)
    declined = pay(guest, booking, "pm_card_chargeDeclined")
    assert declined.status_code == 402, declined.json
    assert "declined" in declined.json["_error"]["message"]
    assert guest.get(f"bookings/{booking['_id']}").json["status"] == "pending_payment"
    assert pay(guest, booking, "pm_card_mastercard").status_code == 201
    assert guest.get(f"bookings/{booking['_id']}").json["status"] == "confirmed"


def test_cancelled_in_time_it_costs_nothing(guest, stock, db):
    booking, _ = guaranteed(guest, stock)  # ten days ahead, 24 h free
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.json
    stored = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    assert stored["status"] == "cancelled" and "fee" not in stored
    assert [p["purpose"] for p in payments_of(db, booking)] == ["guarantee"]


def test_cancelled_late_the_policy_fee_is_charged_to_the_card(guest, stock, db):
    booking, _ = guaranteed(guest, stock, start=today())  # tonight: past the 24 h
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.json
    stored = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    assert stored["fee"]["status"] == "charged" and "debt" not in stored
    fee = payments_of(db, booking)[-1]
    assert (fee["purpose"], fee["status"], str(fee["amount"])) == (
        "cancellation_fee",
        "succeeded",
        "100.00",  # 50 % of 200.00
    )
    assert fee["_id"] == stored["fee"]["payment"]


def test_a_no_show_is_the_hotels_to_record_from_the_arrival_day(
    guest, manager, admin, login, stock, db
):
    booking, _ = guaranteed(guest, stock, start=today().plus(3))
    early = no_show(manager, booking)
    assert early.status_code == 409, early.json
    assert today().plus(3).isoformat() in early.json["_error"]["message"]
    own = no_show(guest, booking)  # their own: they may see it, not record it
    assert own.status_code == 403
    assert own.json["_error"]["message"] == (
        "only the hotel's managers and admins record a stay's arrival"
    )
    for other in (login("guest"), login("manager")):  # someone else's; not their hotel
        hidden = no_show(other, booking)
        assert hidden.status_code == 404
        assert hidden.json["_error"]["message"] == f"booking {booking['_id']} not found"
    missing = manager.post(f"bookings/{booking['_id']}/no-show")
    assert missing.status_code == 428
    assert "send If-Match with the booking's _etag" in missing.json["_error"]["message"]


def test_a_no_show_is_charged_its_fee_once(guest, manager, stock, db):
    booking, _ = guaranteed(guest, stock, start=today(), nights=3)
    stale = manager.post(f"bookings/{booking['_id']}/no-show", headers={"If-Match": "0" * 40})
    assert stale.status_code == 412, stale.json
    marked = no_show(manager, booking)
    assert marked.status_code == 200, marked.json
    assert marked.json["status"] == "no_show"
    assert marked.json["fee"]["purpose"] == "no_show_fee"
    assert (marked.json["fee"]["status"], marked.json["fee"]["amount"]) == ("charged", "150.00")
    again = no_show(manager, marked.json)
    assert again.status_code == 409, again.json
    assert again.json["_error"]["message"] == (
        "this booking is no_show; only a confirmed booking can be a no-show"
    )
    # The worker finds nothing left to collect, and the fee was charged once.
    assert fees.collect_due(db, _provider(db), now=utcnow() + timedelta(hours=1)) == 0
    assert [p["purpose"] for p in payments_of(db, booking)] == ["guarantee", "no_show_fee"]
    # The nights stay taken: they were held for the guest; reconcile and the KPIs agree.
    assert reconcile.find_drift(db) == []
    kpis.refresh(db)
    assert kpis.reconcile(db) == []
    tonight = db[kpis.HOTEL_DAILY].find_one({"hotel": ObjectId(booking["hotel"]), "date": today()})
    assert tonight["rooms_sold"] == 1  # a no-show's room was sold
    assert (
        sum(r["booked"] for r in db.inventory.find({"room_type": ObjectId(booking["room_type"])}))
        == 3
    )


def test_a_refused_fee_leaves_a_debt_the_admin_sees(guest, manager, admin, stock, db, app):
    from tests.support import sign_in

    booking, _ = guaranteed(guest, stock, start=today(), method="pm_card_chargeCustomerFail")
    marked = no_show(manager, booking)
    assert marked.status_code == 200, marked.json
    assert marked.json["fee"]["status"] == "failed"
    assert marked.json["fee"]["failure_reason"] == "card_declined"
    assert marked.json["debt"] == "100.00"
    fee = payments_of(db, booking)[-1]
    assert (fee["purpose"], fee["status"]) == ("no_show_fee", "failed")
    panel = app.test_client()
    assert sign_in(panel, admin.user["email"]).status_code == 302
    page = panel.get("/admin/bookings/", query_string={"search": booking["confirmation_code"]})
    assert page.status_code == 200
    row = re.search(
        f'col-confirmation_code">\\s*{booking["confirmation_code"]}.*?</tr>', page.text, re.S
    )
    assert "Debt" in page.text and re.search(r'col-debt">\s*100.00 EUR', row.group())


def test_a_fee_whose_request_died_is_collected_by_the_worker_once(guest, manager, stock, db, app):
    """The no-show committed and its process died before charging: the fee is due; the
    worker leaves it to the request for a minute, then charges it, once."""
    from booking import stay

    booking, _ = guaranteed(guest, stock, start=today())
    stored = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    stay.no_show(db.client, db, stored, stored["_etag"], utcnow())
    assert db.bookings.find_one({"_id": stored["_id"]})["fee"]["status"] == "due"
    provider = _provider(db)
    assert fees.collect_due(db, provider) == 0  # still the request's
    later = utcnow() + fees.COLLECT_AFTER + timedelta(seconds=1)
    assert fees.collect_due(db, provider, now=later) == 1
    assert fees.collect_due(db, provider, now=later) == 0
    assert db.bookings.find_one({"_id": stored["_id"]})["fee"]["status"] == "charged"
    assert [p["purpose"] for p in payments_of(db, booking)] == ["guarantee", "no_show_fee"]


def test_a_prepaid_no_show_keeps_what_was_paid(guest, manager, stock, db):
    start = today()
    room_type, _ = stock(nights=1, start=start)
    booking = make_booking(guest, room_type, start, nights=1)
    assert pay(guest, booking).status_code == 201
    booking = guest.get(f"bookings/{booking['_id']}").json
    marked = no_show(manager, booking)
    assert marked.status_code == 200, marked.json
    assert "fee" not in marked.json and marked.json.get("refund_amount") is None
    assert [p["status"] for p in payments_of(db, booking)] == ["succeeded"]


def test_one_booking_is_paid_one_way(guest, stock, make_room_type, admin):
    start = today().plus(10)
    room_type, _ = stock(nights=2, start=start, rate_plans=[PREPAID, AT_HOTEL])
    mixed = guest.post(
        "bookings",
        {
            "check_in": start.isoformat(),
            "check_out": start.plus(2).isoformat(),
            "rooms": [
                {"room_type": room_type["_id"], "rate_plan": "flexible"},
                {"room_type": room_type["_id"], "rate_plan": "pay-at-hotel"},
            ],
        },
    )
    assert mixed.status_code == 422, mixed.json
    assert "paid the same way" in mixed.json["_error"]["message"]


def test_a_change_keeps_how_it_is_paid_and_charges_nothing(guest, stock, db):
    booking, _ = guaranteed(guest, stock, nights=3, plans=[AT_HOTEL, PREPAID])
    to_prepaid = change(guest, booking, {"rate_plan": "flexible"})
    assert to_prepaid.status_code == 422, to_prepaid.json
    assert to_prepaid.json["_issues"] == {"rate_plan": "must be a plan paid at the hotel"}
    assert to_prepaid.json["_error"]["message"].startswith(
        "this booking is paid at the hotel; a change keeps that"
    )
    longer = change(guest, booking, {"check_out": today().plus(13).isoformat()})
    assert longer.status_code == 200, longer.json
    assert longer.json["total_price"] == "300.00"
    assert longer.json["_change"]["charged"] == "0.00"
    assert [p["purpose"] for p in payments_of(db, booking)] == ["guarantee"]


def _provider(db):
    from flask import current_app

    return current_app.extensions["payment_provider"]


def test_a_guarantee_behind_3d_secure_is_confirmed_by_the_webhook(guest, stock, db):
    booking = held(guest, stock)
    asked = pay(guest, booking, "pm_card_authenticationRequired")
    assert asked.status_code == 202, asked.json
    assert asked.json["next_action"]["client_secret"].startswith("seti_")
    assert "confirmSetup" in asked.json["next_action"]["description"]
    done = guest.post(f"sandbox/payments/{asked.json['_id']}/complete", {"outcome": "succeeded"})
    assert done.status_code == 200, done.json
    stored = db.bookings.find_one({"_id": ObjectId(booking["_id"])})
    assert stored["status"] == "confirmed"
    assert stored["guarantee"]["reference"] == asked.json["provider_reference"]
    assert db.payments.find_one({"_id": ObjectId(asked.json["_id"])})["status"] == "succeeded"
