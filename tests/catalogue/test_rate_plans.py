"""Rate plans: one offer per room type and plan, priced by the plan's rule; a booking
keeps its plan, and refunds follow that snapshot."""

from catalogue import rate_plans
from plumbing.values import today
from tests.factories import search
from tests.support import FLEXIBLE, PLANS


def test_one_offer_per_plan_priced_by_its_rule_and_sorted_across_plans(stock, client):
    room_type, start = stock(nights=3, price="100.05", rate_plans=PLANS)
    offers = search(client, room_type, start, adults=2)
    # long-stay needs 7 nights and early 60 days ahead: neither sells this stay.
    by_plan = {o["rate_plan"]["code"]: o for o in offers}
    assert set(by_plan) == {"flexible", "non-refundable", "breakfast"}
    # 15 % off 100.05 is 85.0425 -> 85.04 a night; breakfast adds 18.00 for each of 2.
    assert by_plan["non-refundable"]["total_price"] == "255.12"
    assert by_plan["flexible"]["total_price"] == "300.15"
    assert by_plan["breakfast"]["total_price"] == "408.15"
    assert [n["price"] for n in by_plan["breakfast"]["nightly_prices"]] == ["136.05"] * 3
    # Sorting by total compares across plans; descending too.
    assert [o["rate_plan"]["code"] for o in offers] == ["non-refundable", "flexible", "breakfast"]
    dearest = search(client, room_type, start, adults=2, sort="-total_price")
    assert [o["rate_plan"]["code"] for o in dearest] == ["breakfast", "flexible", "non-refundable"]
    # Each offer says its policy in words, and its book link names the plan.
    assert by_plan["non-refundable"]["rate_plan"]["refundable"] is False
    assert "non-refundable" in by_plan["non-refundable"]["rate_plan"]["summary"]
    assert by_plan["breakfast"]["rate_plan"]["summary"].startswith("Breakfast included (18.00 EUR")
    assert "free cancellation until 24 hours" in by_plan["breakfast"]["rate_plan"]["summary"]
    assert "48 hours" in by_plan["flexible"]["rate_plan"]["summary"]  # the hotel's policy
    assert by_plan["breakfast"]["_links"]["book"]["body"]["rate_plan"] == "breakfast"
    # max_price applies to each plan's own total.
    cheap = search(client, room_type, start, adults=2, max_price="300.15")
    assert [o["rate_plan"]["code"] for o in cheap] == ["non-refundable", "flexible"]


def test_conditions_decide_which_plans_sell(stock, client):
    far = today().plus(70)
    room_type, start = stock(nights=8, price="100.00", rate_plans=PLANS, start=far)
    codes = {o["rate_plan"]["code"] for o in search(client, room_type, start, nights=7)}
    assert codes == {"flexible", "non-refundable", "breakfast", "long-stay", "early"}
    codes = {o["rate_plan"]["code"] for o in search(client, room_type, start, nights=6)}
    assert "long-stay" not in codes and "early" in codes


def test_a_booking_is_priced_by_its_plan_and_keeps_it(stock, client, guest):
    room_type, start = stock(nights=3, price="100.05", rate_plans=PLANS)
    offer = next(
        o
        for o in search(client, room_type, start, adults=2)
        if o["rate_plan"]["code"] == "breakfast"
    )
    created = guest.post("bookings", offer["_links"]["book"]["body"])
    assert created.status_code == 201, created.json
    booking = created.json
    assert booking["total_price"] == offer["total_price"] == "408.15"
    assert booking["rate_plan"] == "breakfast"
    assert booking["rate_plan_terms"] == {
        "code": "breakfast",
        "name": "Breakfast included",
        "discount_percent": 0,
        "supplement_per_person": "18.00",
        "meal": "breakfast",
        "payment": "prepay",
    }
    assert booking["cancellation_policy"]["free_until_hours"] == 24
    assert booking["cancellation_policy"]["penalty_percent"] == 30
    assert [r["rate_plan"] for r in booking["rooms"]] == ["breakfast"]
    assert booking["rooms"][0]["total_price"] == "408.15"
    # Without a plan: the room type's first.
    plain = guest.post(
        "bookings",
        {
            "room_type": room_type["_id"],
            "check_in": start.isoformat(),
            "check_out": start.plus(1).isoformat(),
        },
    )
    assert plain.status_code == 201 and plain.json["rate_plan"] == "flexible"
    assert plain.json["total_price"] == "100.05"


def test_refusals_name_the_plan_and_its_condition(stock, guest, admin):
    room_type, start = stock(nights=3, rate_plans=PLANS)
    body = {
        "room_type": room_type["_id"],
        "check_in": start.isoformat(),
        "check_out": start.plus(3).isoformat(),
    }
    unknown = guest.post("bookings", {**body, "rate_plan": "weekend"})
    assert unknown.status_code == 422
    assert unknown.json["_error"]["message"] == "Double has no rate plan 'weekend'"
    assert unknown.json["_issues"]["rate_plan"] == (
        "must be one of flexible, non-refundable, breakfast, long-stay, early"
    )
    short = guest.post("bookings", {**body, "rate_plan": "long-stay"})
    assert short.status_code == 422
    assert short.json["_issues"]["check_out"] == "the Week and more rate needs at least 7 nights"
    late = guest.post("bookings", {**body, "rate_plan": "early"})
    assert late.status_code == 422
    assert "at least 60 days before arrival" in late.json["_issues"]["check_in"]
    twice = admin.patch_item(
        f"room-types/{room_type['_id']}", {"rate_plans": [PLANS[0], PLANS[0]]}
    )
    assert twice.status_code == 422
    assert twice.json["_issues"]["rate_plans"] == "codes must be unique: flexible appears twice"
    cents = admin.patch_item(
        f"room-types/{room_type['_id']}",
        {"rate_plans": [{"code": "b", "name": "B", "supplement_per_person": "1.005"}]},
    )
    assert cents.status_code == 422 and "decimal places" in cents.json["_issues"]["rate_plans"]
    bad_code = admin.patch_item(
        f"room-types/{room_type['_id']}", {"rate_plans": [{"code": "Bad Code", "name": "B"}]}
    )
    assert bad_code.status_code == 422 and "rate_plans" in bad_code.json["_issues"]


def pay_and_cancel(guest, booking):
    paid = guest.post("payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"})
    assert paid.status_code == 201, paid.json
    return guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})


def test_refunds_follow_the_snapshot_not_the_plan_as_edited_later(stock, guest, admin):
    room_type, start = stock(nights=3, price="100.00", rate_plans=PLANS)
    stay = {
        "room_type": room_type["_id"],
        "check_in": start.isoformat(),
        "check_out": start.plus(2).isoformat(),
    }
    saver = guest.post("bookings", {**stay, "rate_plan": "non-refundable"}).json
    flexible = guest.post("bookings", {**stay, "rate_plan": "flexible"}).json
    # The hotel then makes every plan free to cancel: bookings keep what they bought.
    free = [
        dict(p, cancellation={"refundable": True, "free_until_hours": 0, "penalty_percent": 0})
        for p in PLANS
    ]
    assert (
        admin.patch_item(f"room-types/{room_type['_id']}", {"rate_plans": free}).status_code == 200
    )
    cancelled = pay_and_cancel(guest, saver)
    assert cancelled.status_code == 200 and cancelled.json["refund_amount"] == "0.00"
    payment = guest.get("payments", query_string={"where": f'{{"booking": "{saver["_id"]}"}}'})
    assert payment.json["_items"][0]["status"] == "succeeded"  # nothing refunded
    assert payment.json["_items"][0]["refunded_amount"] == "0.00"
    # Ten days ahead is before the flexible plan's (the hotel's) 48 hours: all back.
    cancelled = pay_and_cancel(guest, flexible)
    assert cancelled.json["refund_amount"] == "200.00"


def test_room_types_without_plans_sell_as_before(stock, client, guest):
    room_type, start = stock(nights=2, price="90.00")
    (offer,) = search(client, room_type, start, nights=2)
    assert offer["rate_plan"]["code"] == "standard" and offer["total_price"] == "180.00"
    booking = guest.post("bookings", offer["_links"]["book"]["body"]).json
    assert booking["rate_plan"] == "standard" and booking["total_price"] == "180.00"
    assert booking["cancellation_policy"]["free_until_hours"] == 48  # the hotel's


def test_a_policy_that_refunds_nothing_is_not_called_refundable(stock, client, make_hotel):
    """0 hours free and 100 % kept: no cancellation gives anything back, so the offer,
    its words and the booking's snapshot all say non-refundable."""
    hotel = make_hotel(cancellation_policy={"free_until_hours": 0, "penalty_percent": 100})
    room_type, start = stock(nights=2, hotel=hotel, rate_plans=[FLEXIBLE])
    (offer,) = search(client, room_type, start, nights=2)
    assert offer["rate_plan"]["refundable"] is False
    assert offer["rate_plan"]["summary"].startswith("Non-refundable: nothing is refunded")
    kept = {"free_until_hours": 0, "penalty_percent": 30}  # 70 % back: refundable
    assert rate_plans.policy({"cancellation": kept}, hotel)["refundable"] is True
