"""Public catalogue reads kept in Redis: never older than a committed catalogue write."""


def test_a_repeat_read_is_a_hit_with_the_same_answer(client, make_hotel):
    hotel = make_hotel(name="Kept Hotel")
    for path in (f"hotels/{hotel['_id']}", 'hotels?where={"name": "Kept Hotel"}'):
        first = client.get(path)
        again = client.get(path)
        assert (first.headers["X-Read-Cache"], again.headers["X-Read-Cache"]) == ("miss", "hit")
        assert again.json == first.json and again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Cache-Control"] == "public, max-age=60"
        assert again.headers["X-Content-Type-Options"] == "nosniff"  # after-request steps ran
        revalidated = client.get(path, headers={"If-None-Match": again.headers["ETag"]})
        assert revalidated.status_code == 304
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.mimetype == "text/html"


def test_catalogue_writes_make_the_next_read_fresh(client, admin, make_hotel, make_room_type):
    hotel = make_hotel(name="Before", stars=3)
    item, rooms = f"hotels/{hotel['_id']}", f'room-types?where={{"hotel": "{hotel["_id"]}"}}'
    assert (
        client.get(item).json["stars"] == 3 and client.get(item).headers["X-Read-Cache"] == "hit"
    )
    assert client.get(rooms).json["_items"] == []
    assert admin.patch_item(item, {"stars": 5}).status_code == 200
    after = client.get(item)
    assert after.headers["X-Read-Cache"] == "miss" and after.json["stars"] == 5
    make_room_type(hotel=hotel, name="Suite")
    assert [r["name"] for r in client.get(rooms).json["_items"]] == ["Suite"]


def test_writes_and_private_reads_are_not_cached(guest, client):
    assert "X-Read-Cache" not in guest.get("bookings").headers
    assert "X-Read-Cache" not in client.get("hotels/000000000000000000000000").headers
