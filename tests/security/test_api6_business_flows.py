"""API6 Unrestricted Access to Sensitive Business Flows: one account cannot hoard rooms."""

from tests.factories import stay
from tests.support import _race


def test_one_account_holds_at_most_three_pending_bookings(guest, stock, db):
    room_type, start = stock(nights=1, allotment=20)
    body = stay(room_type, start, 1)
    responses = _race([lambda: guest.post("bookings", body) for _ in range(10)])
    assert sorted(r.status_code for r in responses).count(201) == 3
    assert db.inventory.find_one()["booked"] == 3  # 17 of 20 rooms still on sale


def test_booking_creation_has_its_own_stricter_limit(app_config, stock):
    from identity.tokens import issue_token
    from run import close_app, create_app
    from tests.conftest import make_user

    app = create_app(dict(app_config, BOOKING_RATE_LIMIT="2/minute"))
    try:
        db = app.data.driver.db
        room_type, start = stock(nights=1, allotment=10)
        token = issue_token(make_user(db), app.config["SECRET_KEY"], 60)
        http = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        body = stay(room_type, start, 1)
        statuses = [
            http.post("/api/v1/bookings", json=body, headers=auth).status_code for _ in range(3)
        ]
        assert statuses == [201, 201, 429]
        # A change takes nights and can charge a card: the same limit (it had none).
        booking = db.bookings.find_one()
        changes = []
        for adults in (2, 1, 2):
            etag = db.bookings.find_one({"_id": booking["_id"]})["_etag"]
            changes.append(
                http.post(
                    f"/api/v1/bookings/{booking['_id']}/change",
                    json={"adults": adults},
                    headers={**auth, "If-Match": etag},
                ).status_code
            )
        assert changes == [200, 200, 429]
        assert db.bookings.find_one({"_id": booking["_id"]})["adults"] == 1
        assert http.get("/api/v1/bookings", headers=auth).status_code == 200  # reads unaffected
        assert db.bookings.count_documents({}) == 2
    finally:
        close_app(app)


def test_holds_lapse_so_hoarded_rooms_return(guest, stock, db):
    from datetime import datetime, timedelta

    from booking import holds

    room_type, start = stock(nights=1, allotment=3)
    body = stay(room_type, start, 1)
    for _ in range(3):
        assert guest.post("bookings", body).status_code == 201
    db.bookings.update_many({}, {"$set": {"hold_expires_at": datetime.utcnow() - timedelta(1)}})
    assert holds.expire_due(db.client, db) == 3
    assert db.inventory.find_one()["booked"] == 0
