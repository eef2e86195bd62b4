"""Example: hotels created before `status` existed become active."""


def migrate(db):
    return db.hotels.update_many(
        {"status": {"$exists": False}}, {"$set": {"status": "active"}}
    ).modified_count
