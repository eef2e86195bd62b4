"""What a stay costs beyond its nights: VAT, a city tax and fees, declared per hotel
(`taxes`, domain/hotels.py), and the all-in total a guest is shown and charged.

One set of functions prices them for the search (search/availability.py), the booking
and its changes (booking/reservations.py) and the refund, all in whole minor units:

- VAT applies to the room price (the nights under the rate plan). With `vat_included`
  (the default) it is the part of that price that is VAT, shown and not added; without,
  it is added. Either way it is rounded half-up to the minor unit.
- The city tax is per guest (adults only when `children_exempt`, the default) and per
  night, for at most `max_nights` nights. It is outside VAT and the cancellation policy:
  a stay that does not happen owes none, so a cancellation refunds it in full.
- Fees are per room, once a stay or per night, charged as declared.

all-in total = room price + fees + city tax + VAT when added.
The room revenue of the KPIs (STR's ADR and RevPAR) is the room price without VAT.
"""

from decimal import Decimal

from plumbing.values import minor_text, to_decimal, to_minor

NO_CHARGES = None  # a hotel that declares none: the total is the room price
BASIS = 10_000  # VAT in basis points: 7.7 % is 770


def terms(taxes, currency):
    """A hotel's declared taxes (or a booking's copy of them) as the pricing reads them:
    plain ints in minor units, or NO_CHARGES when nothing is charged."""
    if not taxes:
        return NO_CHARGES
    vat = int(to_decimal(taxes.get("vat_percent") or 0) * 100)
    city = taxes.get("city_tax") or {}
    fees = [
        {
            "code": fee["code"],
            "name": fee["name"],
            "amount": to_minor(to_decimal(fee["amount"]), currency),
            "per": fee.get("per", "stay"),
        }
        for fee in taxes.get("fees") or ()
    ]
    city_minor = to_minor(to_decimal(city["per_person_per_night"]), currency) if city else 0
    if not vat and not city_minor and not fees:
        return NO_CHARGES
    included = taxes.get("vat_included", True)
    rate = Decimal(vat).scaleb(-2).normalize()
    return {
        "vat": vat,
        # what the VAT line says: "VAT 10 % (included)", "Sales tax 14.75 %"
        "vat_label": f"{taxes.get('vat_name') or 'VAT'} {rate:f} %"
        + (" (included)" if included else ""),
        "vat_included": included,
        "city_tax": city_minor,
        "children_exempt": city.get("children_exempt", True),
        "max_nights": city.get("max_nights") or 0,
        "fees": fees,
    }


def vat_of(room, charges):
    """The VAT on a room price (minor units): its part when included, else added."""
    rate = charges["vat"]
    if not rate:
        return 0
    if charges["vat_included"]:
        return room - (room * BASIS * 2 + BASIS + rate) // (2 * (BASIS + rate))
    return (room * rate * 2 + BASIS) // (2 * BASIS)


def city_tax_of(charges, nights, adults, children):
    """The city tax of one room's party for the stay (minor units)."""
    if not charges["city_tax"]:
        return 0
    persons = adults + (0 if charges["children_exempt"] else children)
    taxed = min(nights, charges["max_nights"]) if charges["max_nights"] else nights
    return charges["city_tax"] * persons * taxed


def fee_of(fee, nights):
    return fee["amount"] * (nights if fee["per"] == "night" else 1)


def total(room, charges, nights, adults, children):
    """The all-in total of one room (minor units): what the search sorts and filters by,
    and what the guest pays."""
    if charges is NO_CHARGES:
        return room
    added = 0 if charges["vat_included"] else vat_of(room, charges)
    return room + added + fixed(charges, nights, adults, children)


def fixed(charges, nights, adults, children):
    """What a stay adds whatever its room price: the fees and the city tax (minor units);
    a search computes it once for every plan of a room type."""
    fees = sum(fee_of(fee, nights) for fee in charges["fees"])
    return fees + city_tax_of(charges, nights, adults, children)


def _as_is(minor, _currency):
    return minor


def vat_line(charges, amount):
    return {
        "code": "vat",
        "name": charges["vat_label"],
        "amount": amount,
        "included": charges["vat_included"],
    }


def stay_lines(charges, nights, adults, children, currency, amount=minor_text):
    """The lines of a breakdown that do not depend on the room price: (the city tax line
    or none, the fee lines), their amounts as `amount(minor, currency)` makes them
    (decimal strings by default). The same for every offer of a room type and stay, so
    a search builds them once."""
    city = city_tax_of(charges, nights, adults, children)
    taxes = []
    if city:
        city_line = {"code": "city_tax", "name": "City tax", "included": False}
        taxes.append({**city_line, "amount": amount(city, currency)})
    fees = [
        {"code": f["code"], "name": f["name"], "amount": amount(fee_of(f, nights), currency)}
        for f in charges["fees"]
    ]
    return taxes, fees


def lines(room, charges, nights, adults, children):
    """One room's breakdown in minor units: {room, taxes: [...], fees: [...], total,
    city_tax, room_net}; `city_tax` is what a cancellation always refunds and
    `room_net` the room revenue the KPIs count (the room price without VAT)."""
    if charges is NO_CHARGES:
        return {
            "room": room,
            "taxes": [],
            "fees": [],
            "total": room,
            "city_tax": 0,
            "room_net": room,
        }
    vat = vat_of(room, charges)
    taxes, fees = stay_lines(charges, nights, adults, children, None, _as_is)
    if charges["vat"]:
        taxes.insert(0, vat_line(charges, vat))
    return {
        "room": room,
        "taxes": taxes,
        "fees": fees,
        "total": total(room, charges, nights, adults, children),
        "city_tax": city_tax_of(charges, nights, adults, children),
        "room_net": room - vat if charges["vat_included"] else room,
    }


def add(breakdowns):
    """The sum of several rooms' breakdowns (lines of the same code added up)."""
    summed = {"room": 0, "taxes": [], "fees": [], "total": 0, "city_tax": 0, "room_net": 0}
    for part in breakdowns:
        for key in ("room", "total", "city_tax", "room_net"):
            summed[key] += part[key]
        for kind in ("taxes", "fees"):
            for line in part[kind]:
                same = next((x for x in summed[kind] if x["code"] == line["code"]), None)
                if same is None:
                    summed[kind].append(dict(line))
                else:
                    same["amount"] += line["amount"]
    return summed


def shown(breakdown, currency, amount=minor_text):
    """A breakdown with its amounts as `amount(minor, currency)` makes them (decimal
    strings by default; a booking keeps Decimal128), the two internal sums (city_tax,
    room_net) left out."""
    return {
        "room": amount(breakdown["room"], currency),
        "taxes": [{**t, "amount": amount(t["amount"], currency)} for t in breakdown["taxes"]],
        "fees": [{**f, "amount": amount(f["amount"], currency)} for f in breakdown["fees"]],
        "total": amount(breakdown["total"], currency),
    }
