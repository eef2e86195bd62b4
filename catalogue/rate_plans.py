"""Rate plans: the ways a room type is sold - its price rule, cancellation policy and
conditions - declared on the room type (`rate_plans`, domain/room_types.py).

A room type without plans sells under STANDARD: the night's price and the hotel's
cancellation policy, exactly what a booking was before plans existed. A plan's price for
a night, in whole minor units, is the night's price less `discount_percent` (rounded
half-up to the minor unit) plus `supplement_per_person` for each guest; a booking keeps
these prices and a snapshot of the plan, so later edits to the plan never change it.
The search (search/availability.py) and the booking (booking/reservations.py) price
with the same functions here, so an offer's total is the total a booking is charged.
"""

from plumbing.errors import Refusal
from plumbing.values import minor_text, to_minor

STANDARD = {"code": "standard", "name": "Standard rate"}
MEAL_WORDS = {
    "breakfast": "breakfast",
    "half_board": "breakfast and dinner",
    "full_board": "all meals",
}


def plans_of(room_type):
    """The room type's plans, STANDARD when it declares none."""
    return room_type.get("rate_plans") or [STANDARD]


def plan_named(room_type, code):
    """The plan `code` of the room type (its first when code is None); 422 naming the
    plans it has otherwise."""
    plans = plans_of(room_type)
    if code is None:
        return plans[0]
    for plan in plans:
        if plan["code"] == code:
            return plan
    codes = ", ".join(p["code"] for p in plans)
    raise Refusal(
        422,
        f"{room_type['name']} has no rate plan {code!r}",
        {"rate_plan": f"must be one of {codes}"},
    )


def card_plan(plan, currency):
    """A plan as the search cards keep it: plain values, the supplement in minor units."""
    supplement = plan.get("supplement_per_person")
    return {
        "code": plan["code"],
        "name": plan["name"],
        "discount_percent": plan.get("discount_percent", 0),
        "supplement_minor": to_minor(supplement.to_decimal(), currency) if supplement else 0,
        "meal": plan.get("meal", "room_only"),
        "min_stay": plan.get("min_stay", 1),
        "min_days_ahead": plan.get("min_days_ahead", 0),
        "cancellation": plan.get("cancellation"),
        "payment": plan.get("payment", "prepay"),
    }


def night_minor(base, plan, persons):
    """A plan's price of one night from the night's price (all in minor units)."""
    discount = plan["discount_percent"]
    price = (base * (100 - discount) * 2 + 100) // 200 if discount else base
    return price + plan["supplement_minor"] * persons


def condition_issue(plan, nights, days_ahead):
    """Why the plan cannot sell this stay ({field: reason}), or None."""
    if nights < plan["min_stay"]:
        return {"check_out": f"the {plan['name']} rate needs at least {plan['min_stay']} nights"}
    if days_ahead < plan["min_days_ahead"]:
        return {
            "check_in": f"the {plan['name']} rate must be booked at least "
            f"{plan['min_days_ahead']} days before arrival"
        }
    return None


def check_conditions(plan, nights, days_ahead):
    issue = condition_issue(plan, nights, days_ahead)
    if issue:
        raise Refusal(422, next(iter(issue.values())), issue)


def policy(plan, hotel):
    """The cancellation policy a booking under `plan` snapshots: the plan's own when it
    declares one, else the hotel's. A policy that can refund nothing (no free hours and
    100 % kept) is not refundable, whatever it was declared as: an offer never says
    refundable when no cancellation gives anything back."""
    own = plan.get("cancellation") or {}
    base = hotel.get("cancellation_policy") or {"free_until_hours": 0, "penalty_percent": 100}
    refundable = own.get("refundable", True)
    free = own.get("free_until_hours", base["free_until_hours"])
    if not free and own.get("penalty_percent", base["penalty_percent"]) == 100:
        refundable = False
    return {
        "refundable": refundable,
        "free_until_hours": own.get("free_until_hours", base["free_until_hours"])
        if refundable
        else 0,
        "penalty_percent": own.get("penalty_percent", base["penalty_percent"])
        if refundable
        else 100,
        "timezone": hotel.get("timezone", "UTC"),
        "check_in_time": hotel.get("check_in_time", "15:00"),
    }


def snapshot(plan, currency):
    """What a booking keeps of its plan."""
    kept = card_plan(plan, currency)
    return {
        "code": kept["code"],
        "name": kept["name"],
        "discount_percent": kept["discount_percent"],
        "supplement_per_person": minor_text(kept["supplement_minor"], currency),
        "meal": kept["meal"],
        "payment": kept["payment"],
    }


def _at_hotel_words(policy):
    """What a pay-at-the-hotel plan costs before arrival: nothing, unless cancelled late
    or not used, when the card pays what the policy keeps."""
    said = "pay at the hotel: nothing is charged now, your card guarantees the booking"
    kept = 100 if not policy["refundable"] else policy["penalty_percent"]
    hours = policy["free_until_hours"] if policy["refundable"] else 0
    if kept == 0:
        return f"{said}; cancellation is free"
    fee = "the total" if kept == 100 else f"{kept} % of the total"
    when = (
        f"free cancellation until {hours} hours before arrival "
        f"({policy['check_in_time']} {policy['timezone']}); a later cancellation or a "
        "no-show is charged "
        if hours
        else "a cancellation or a no-show is charged "
    )
    return f"{said}; {when}{fee}"


def words(plan, policy, currency, city_tax=False):
    """The plan and its policy in plain words, for guests comparing offers (`city_tax`:
    the hotel charges one, which every cancellation refunds, catalogue/charges.py)."""
    parts = []
    if plan["discount_percent"]:
        parts.append(f"{plan['discount_percent']} % off")
    meal = MEAL_WORDS.get(plan.get("meal"))
    if meal:
        extra = plan["supplement_minor"]
        parts.append(
            f"{meal} included"
            + (f" ({minor_text(extra, currency)} {currency} per guest per night)" if extra else "")
        )
    elif plan["supplement_minor"]:
        parts.append(
            f"{minor_text(plan['supplement_minor'], currency)} {currency} per guest per night"
        )
    if plan.get("payment") == "at_hotel":
        parts.append(_at_hotel_words(policy))
    elif not policy["refundable"]:
        parts.append("non-refundable: nothing is refunded on cancellation")
    else:
        hours = policy["free_until_hours"]
        free = (
            f"free cancellation until {hours} hours before arrival "
            f"({policy['check_in_time']} {policy['timezone']})"
            if hours
            else "cancellation"
        )
        kept = policy["penalty_percent"]
        later = (
            "nothing is refunded after that"
            if kept == 100
            else "no penalty after that"
            if kept == 0
            else f"after that {kept} % of the total is kept"
        )
        parts.append(f"{free}; {later}" if hours else f"cancellation keeps {kept} % of the total")
    conditions = []
    if plan["min_stay"] > 1:
        conditions.append(f"at least {plan['min_stay']} nights")
    if plan["min_days_ahead"]:
        conditions.append(f"booked at least {plan['min_days_ahead']} days ahead")
    if conditions:
        parts.append(" and ".join(conditions))
    text = "; ".join(parts)
    if city_tax:
        text = text.replace("nothing is refunded", "nothing but the city tax is refunded")
    return text[0].upper() + text[1:] + "."
