"""Inventory rows written before `price_minor` existed get it from `price`."""

from pymongo import UpdateOne

from plumbing.values import to_minor


def migrate(db, batch=1000):
    changed, ops = 0, []
    for row in db.inventory.find({"price_minor": {"$exists": False}}, {"price": 1, "currency": 1}):
        minor = to_minor(row["price"].to_decimal(), row.get("currency", "EUR"))
        ops.append(UpdateOne({"_id": row["_id"]}, {"$set": {"price_minor": minor}}))
        if len(ops) == batch:
            changed += db.inventory.bulk_write(ops, ordered=False).modified_count
            ops = []
    if ops:
        changed += db.inventory.bulk_write(ops, ordered=False).modified_count
    return changed
