"""Client queries are checked before the database sees them: a 400 naming the field,
operator or value, at once - never a scan, a driver error or a 500 (issue 11)."""

import json

import pytest

from tests.recording import recorded

WHERE = [
    # dates that look right but are not days, on an indexed date field
    ("inventory", {"date": {"$gte": "2027-02-30"}}, "'2027-02-30' is not a date"),
    ("inventory", {"date": "2027-13-01"}, "is not a date"),
    ("inventory", {"date": {"$in": ["2027-01-01", "tomorrow"]}}, "'tomorrow' is not a date"),
    ("bookings", {"check_in": {"$lt": 20270101}}, "is not a date"),
    # operators with operands of the wrong shape
    ("hotels", {"$or": []}, "$or takes a non-empty list of objects"),
    ("hotels", {"stars": {"$in": 5}}, "$in takes a list"),
    ("hotels", {"stars": {"$mod": [0, 0]}}, "operator $mod is not allowed"),
    ("hotels", {"stars": {"$not": "x"}}, "$not takes an object of operators"),
    ("hotels", {"stars": 10**28}, "does not fit in a 64-bit integer"),
    ("hotels", {"name": {"$options": "i"}}, "operator $options is not allowed"),
    ("hotels", {"amenities": {"$size": -1}}, "$size takes a whole number"),
    ("hotels", {"stars": {"$type": "weird"}}, "operator $type is not allowed"),
    ("hotels", {"stars": {"$bitsAllSet": -1}}, "operator $bitsAllSet is not allowed"),
    ("hotels", {"location": {"$geoIntersects": {"$geometry": 1}}}, "$geoIntersects"),
    ("hotels", {"location": {"$near": {"$geometry": {"type": "Point"}}}}, "$near takes"),
    ("hotels", {"stars": {"$in": [{"$gt": 1}]}}, "a value must be a string, number"),
    ("hotels", {"stars": {}}, "an empty object matches nothing"),
    ("hotels", {"address": {"city": "Paris"}}, "address cannot be filtered on"),
    # refused operators are named, with what is allowed
    ("hotels", {"name": {"$regex": "^A"}}, "operator $regex is not allowed; allowed: $eq"),
    ("hotels", {"$where": "sleep(1000)"}, "$where is not allowed at the top"),
    ("hotels", {"$expr": {"$gt": ["$stars", 3]}}, "$expr is not allowed at the top"),
    # fields that no index serves
    ("hotels", {"description": "quiet"}, "description cannot be filtered on; filterable"),
    ("users", {"password_hash": {"$exists": True}}, "password_hash cannot be filtered on"),
]


@pytest.mark.parametrize(("resource", "where", "named"), WHERE)
def test_bad_where_is_a_400_that_names_it(admin, resource, where, named):
    with recorded() as commands:
        response = admin.get(f"{resource.replace('_', '-')}?where={json.dumps(where)}")
    assert response.status_code == 400, response.json
    assert named in response.json["_error"]["message"]
    assert named in response.json["_issues"]["where"]
    # Refused before the database saw it: no command carried the client's filter.
    sent = [c for _name, c in commands if set(where) & set(c.get("filter") or {})]
    assert sent == []


@pytest.mark.parametrize(
    ("query", "field", "named"),
    [
        ("sort=password_hash", "sort", "cannot sort on password_hash; sortable fields:"),
        ("sort=-token_version", "sort", "cannot sort on token_version"),
        ('sort=[["password_hash", 1]]', "sort", "cannot sort on password_hash"),
        ('projection={"name": {"$meta": "textScore"}}', "projection", "give 1 to include"),
        ('projection={"nope": 1}', "projection", "nope is not a field"),
    ],
)
def test_sorting_and_projection_only_on_allowed_fields(admin, query, field, named):
    response = admin.get(f"users?{query}")
    assert response.status_code == 400
    assert named in response.json["_issues"][field]


def test_good_queries_still_answer(admin, make_hotel, stock):
    make_hotel(name="Alpha", stars=5)
    room_type, start = stock(nights=2)
    hotels = admin.get('hotels?where={"stars": {"$gte": 4}, "amenities": {"$all": ["wifi"]}}')
    assert hotels.status_code == 200 and len(hotels.json["_items"]) == 2
    rows = admin.get(
        "inventory?where="
        + json.dumps({"room_type": room_type["_id"], "date": {"$gte": start.isoformat()}})
        + "&sort=date"
    )
    assert rows.status_code == 200 and len(rows.json["_items"]) == 2
    assert admin.get("users?sort=-email").status_code == 200
    ancient = admin.get(
        "inventory?where="
        + json.dumps({"room_type": room_type["_id"], "date": {"$gte": "0001-01-01"}})
    )
    assert ancient.status_code == 200 and len(ancient.json["_items"]) == 2
    near = {"location": {"$near": {"$geometry": {"type": "Point", "coordinates": [2.33, 48.86]}}}}
    assert admin.get(f"hotels?where={json.dumps(near)}").status_code == 200
