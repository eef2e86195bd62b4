"""Room types written before they carried their hotel's currency get it."""


def migrate(db):
    changed = 0
    for hotel in db.hotels.find({}, {"currency": 1}):
        changed += db.room_types.update_many(
            {"hotel": hotel["_id"], "currency": {"$exists": False}},
            {"$set": {"currency": hotel.get("currency", "EUR")}},
        ).modified_count
    return changed
