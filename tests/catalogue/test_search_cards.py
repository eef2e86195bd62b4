"""Search cards stay in step with the catalogue through every write path that changes it."""

from bson import ObjectId

from catalogue import cards


def _card(db, room_type):
    return db[cards.COLLECTION].find_one({"_id": ObjectId(room_type["_id"])})


def test_cards_follow_hotel_and_room_type_writes(admin, manager, make_hotel, make_room_type, db):
    hotel = make_hotel(name="Card Hotel", stars=3, amenities=["wifi"])
    double = make_room_type(hotel=hotel, name="Double", max_adults=2)
    single = make_room_type(hotel=hotel, name="Single", max_adults=1)
    assert _card(db, double)["hotel_name"] == "Card Hotel" and _card(db, double)["stars"] == 3

    patched = manager.patch_item(
        f"hotels/{hotel['_id']}",
        {"stars": 5, "amenities": ["spa", "wifi"], "address": {"city": "Lyon", "country": "FR"}},
    )
    assert patched.status_code == 200, patched.json
    card = _card(db, double)
    assert (card["stars"], card["amenities"], card["city"]) == (5, ["spa", "wifi"], "Lyon")

    renamed = admin.patch_item(f"room-types/{double['_id']}", {"name": "Twin", "max_adults": 3})
    assert renamed.status_code == 200, renamed.json
    assert (_card(db, double)["name"], _card(db, double)["max_adults"]) == ("Twin", 3)

    assert admin.delete_item(f"room-types/{single['_id']}").status_code == 204
    assert _card(db, single) is None
    assert cards.drift(db) == ([], [])

    assert admin.delete_item(f"hotels/{hotel['_id']}").status_code == 204
    assert _card(db, double) is None


def test_drift_finds_and_rebuild_repairs_a_card_a_crash_left_behind(make_room_type, db):
    room_type = make_room_type(name="Double")
    card_id = ObjectId(room_type["_id"])
    db[cards.COLLECTION].update_one({"_id": card_id}, {"$set": {"stars": 1}})
    db[cards.COLLECTION].insert_one({**_card(db, room_type), "_id": ObjectId()})
    wrong, stray = cards.drift(db)
    assert wrong == [card_id] and len(stray) == 1
    assert cards.rebuild(db) == 2
    assert cards.drift(db) == ([], [])
    assert _card(db, room_type)["stars"] == 4
