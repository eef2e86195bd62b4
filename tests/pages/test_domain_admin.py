"""MongoDB enforces the domain; domain check/diff/apply make schema changes safe and visible."""

from datetime import datetime

import pytest
from bson import Decimal128, ObjectId
from pymongo.errors import WriteError

from domain import build_domain
from plumbing import domain_changes, provisioning
from run import close_app, create_app
from tests.support import require_region


def valid_row(room_type=None, hotel=None):
    return {
        "room_type": room_type or ObjectId(),
        "hotel": hotel or ObjectId(),
        "date": datetime(2027, 1, 1),
        "allotment": 2,
        "booked": 0,
        "price": Decimal128("10.00"),
        "closed": False,
        "min_stay": 1,
    }


@pytest.mark.parametrize(
    ("collection", "document", "why"),
    [
        ("inventory", dict(valid_row(), price=10.0), "money as a float"),
        ("inventory", dict(valid_row(), date="2027-01-01"), "a date as a string"),
        ("inventory", {k: v for k, v in valid_row().items() if k != "price"}, "no price"),
        ("inventory", dict(valid_row(), room_type="6740f0c2a1b2c3d4e5f60718"), "id as string"),
        ("inventory", dict(valid_row(), allotment=-1), "negative allotment"),
        (
            "hotels",
            {"name": "X", "address": {"city": "Paris", "country": "FR"}, "stars": 7},
            "seven stars",
        ),
        ("hotels", {"name": "X", "address": {"city": "Paris"}}, "no country"),
        (
            "bookings",
            {
                "room_type": ObjectId(),
                "check_in": datetime(2027, 1, 1),
                "check_out": datetime(2027, 1, 2),
                "status": "paid",
            },
            "unknown status",
        ),
        ("reviews", {"booking": ObjectId(), "rating": 9}, "rating out of range"),
        ("users", {"email": "x@example.com", "role": "superuser"}, "unknown role"),
    ],
)
def test_direct_invalid_writes_are_rejected_by_mongodb(db, collection, document, why):
    with pytest.raises(WriteError) as excinfo:
        db[collection].insert_one(document)
    assert excinfo.value.code == 121, why
    assert db[collection].count_documents({}) == 0


def test_direct_valid_writes_pass(db):
    db.inventory.insert_one(valid_row())
    db.hotels.insert_one(
        {
            "name": "X",
            "address": {"city": "Paris", "country": "FR"},
            "location": {"type": "Point", "coordinates": [2.3, 48.8]},
        }
    )
    assert db.inventory.count_documents({}) == db.hotels.count_documents({}) == 1


def test_validators_come_from_the_domain():
    validator = provisioning.json_schema("inventory")["$jsonSchema"]
    assert validator["properties"]["price"]["bsonType"] == "decimal"
    assert validator["properties"]["date"]["bsonType"] == "date"
    assert validator["properties"]["room_type"]["bsonType"] == "objectId"
    assert set(validator["required"]) == {"room_type", "date", "allotment", "price"}
    hotels = provisioning.json_schema("hotels")["$jsonSchema"]["properties"]
    assert hotels["stars"] == {
        "bsonType": ["int", "long"],
        "description": hotels["stars"]["description"],
        "minimum": 1,
        "maximum": 5,
    }
    assert "password" not in provisioning.json_schema("users")["$jsonSchema"]["properties"]


def test_a_new_domain_field_reaches_the_validator(monkeypatch):
    require_region(monkeypatch)
    validator = provisioning.json_schema("hotels")["$jsonSchema"]
    assert validator["properties"]["region"]["enum"] == ["EU", "US"]
    assert "region" in validator["required"]


@pytest.mark.fresh_schema
def test_diff_reports_a_planted_violation_precisely(db, monkeypatch, make_hotel):
    first, second = make_hotel(name="A"), make_hotel(name="B")
    require_region(monkeypatch)
    changes = domain_changes.plan(db)
    hotels = [c for c in changes if c["collection"] == "hotels" and c["kind"] == "set validator"]
    assert len(hotels) == 1
    assert hotels[0]["violations"] == 2
    assert set(hotels[0]["examples"]) == {first["_id"], second["_id"]}
    # diff changes nothing
    assert domain_changes.plan(db) == changes


@pytest.mark.fresh_schema
def test_apply_refuses_without_a_default_and_migrates_with_one(db, monkeypatch, make_hotel):
    make_hotel()
    require_region(monkeypatch)
    before = db.command("listCollections", filter={"name": "hotels"})["cursor"]["firstBatch"]
    with pytest.raises(domain_changes.RefusedMigration, match="hotels: 1 documents"):
        domain_changes.apply(db, log=lambda _: None)
    after = db.command("listCollections", filter={"name": "hotels"})["cursor"]["firstBatch"]
    assert before == after  # the validator was not changed
    domain_changes.apply(db, {"hotels.region": "EU"}, log=lambda _: None)
    assert db.hotels.find_one()["region"] == "EU"
    with pytest.raises(WriteError):
        db.hotels.insert_one({"name": "X", "address": {"city": "Paris", "country": "FR"}})
    assert [c for c in domain_changes.plan(db) if c["kind"] == "set validator"] == []


@pytest.mark.fresh_schema
def test_apply_runs_a_named_migration(db, monkeypatch):
    db.hotels.insert_one({"name": "Old", "address": {"city": "Paris", "country": "FR"}})
    domain = build_domain()
    domain["hotels"]["schema"]["status"]["required"] = True
    monkeypatch.setattr(provisioning, "build_domain", lambda: domain)
    monkeypatch.setattr(domain_changes, "build_domain", lambda: domain)
    with pytest.raises(domain_changes.RefusedMigration):
        domain_changes.apply(db, log=lambda _: None)
    domain_changes.apply(db, run_migrations=["example_backfill_hotel_status"], log=lambda _: None)
    assert db.hotels.find_one()["status"] == "active"


@pytest.mark.fresh_schema
def test_a_hand_made_index_never_stops_the_api(app_config, db):
    db.hotels.drop_indexes()
    db.hotels.create_index([("address.country", 1)], name="address.country_1")
    app = create_app(app_config)  # a new worker starting on this database
    try:
        assert app.test_client().get("/api/v1/hotels").status_code == 200
        with app.app_context():
            live = app.data.driver.db
            renames = [c for c in domain_changes.plan(live) if c["kind"] == "rename index"]
            assert [(c["from"], c["name"]) for c in renames] == [("address.country_1", "country")]
            domain_changes.apply(live, log=lambda _: None)
            assert "country" in live.hotels.index_information()
            assert "address.country_1" not in live.hotels.index_information()
    finally:
        close_app(app)


def test_domain_check_passes_on_the_real_domain():
    assert domain_changes.check_domain() == []


def test_domain_check_names_file_and_field():
    domain = build_domain()
    domain["hotels"]["schema"]["name"].pop("description")
    domain["room_types"]["schema"]["hotel"]["data_relation"]["resource"] = "hotelz"
    domain["inventory"]["schema"]["allotment"]["flavour"] = "vanilla"
    domain["reviews"]["allowed_filters"].append("comment")
    problems = domain_changes.check_domain(domain)
    assert "domain/hotels.py: field name: no description" in problems
    assert any(
        "domain/room_types.py: field hotel: data_relation to unknown resource 'hotelz'" in p
        for p in problems
    )
    assert any(
        p.startswith("domain/inventory.py: invalid rules") and "flavour" in p for p in problems
    )
    assert any("domain/reviews.py: filter 'comment' has no index" in p for p in problems)


@pytest.mark.fresh_schema
def test_domain_commands(app, db, make_hotel, monkeypatch):
    runner = app.test_cli_runner()
    check = runner.invoke(args=["domain", "check"])
    assert check.exit_code == 0 and "domain OK" in check.output
    make_hotel()
    require_region(monkeypatch)
    diff = runner.invoke(args=["domain", "diff"])
    assert "hotels: set the $jsonSchema validator - 1 existing documents would violate it" in (
        diff.output
    )
    refused = runner.invoke(args=["domain", "apply"])
    assert refused.exit_code == 2 and "refused" in refused.output
    applied = runner.invoke(args=["domain", "apply", "--set-default", "hotels.region=EU"])
    assert applied.exit_code == 0, applied.output
    assert db.hotels.find_one()["region"] == "EU"


@pytest.mark.fresh_schema
def test_adding_a_resource(db, monkeypatch):
    domain = build_domain()
    domain["promotions"] = {
        "schema": {
            "hotel": {
                "type": "objectid",
                "required": True,
                "description": "Hotel.",
                "example": "6740f0c2a1b2c3d4e5f60718",
                "data_relation": {"resource": "hotels", "field": "_id"},
            },
            "percent_off": {
                "type": "integer",
                "min": 1,
                "max": 90,
                "required": True,
                "description": "Discount.",
                "example": 10,
            },
        },
        "allowed_filters": ["hotel"],
        "mongo_indexes": {"hotel": [("hotel", 1)]},
    }
    monkeypatch.setattr(provisioning, "build_domain", lambda: domain)
    monkeypatch.setattr(domain_changes, "build_domain", lambda: domain)
    assert domain_changes.check_domain(domain) == []
    kinds = {(c["collection"], c["kind"]) for c in domain_changes.plan(db)}
    assert {("promotions", "create index"), ("promotions", "set validator")} <= kinds
    domain_changes.apply(db, log=lambda _: None)
    assert "hotel" in db.promotions.index_information()
    with pytest.raises(WriteError):
        db.promotions.insert_one({"hotel": ObjectId(), "percent_off": 95})
    db.promotions.insert_one({"hotel": ObjectId(), "percent_off": 15})


@pytest.mark.fresh_schema
def test_a_domain_applied_under_a_running_api_is_a_503_naming_the_fix(
    db, monkeypatch, admin, make_hotel, manager
):
    """The API still validates by the domain it started with; MongoDB's validator now
    requires a field it does not send. Writes answer 503 saying to restart, never 500,
    and nothing is half-written; reads carry on."""
    hotel = make_hotel()
    require_region(monkeypatch)
    domain_changes.apply(db, {"hotels.region": "EU"}, log=lambda _: None)
    body = {"name": "New", "address": {"city": "Paris", "country": "FR"}, "currency": "EUR"}
    # The existing hotel got the default: a PATCH that keeps it is still fine.
    assert admin.patch_item(f"hotels/{hotel['_id']}", {"stars": 2}).status_code == 200
    current = admin.get(f"hotels/{hotel['_id']}").json
    replaced = admin.put(
        f"hotels/{hotel['_id']}", body, headers={"If-Match": current["_etag"]}
    )  # a PUT drops the field this server does not know
    assert replaced.status_code == 503, replaced.json
    assert db.hotels.find_one({"_id": ObjectId(hotel["_id"])})["stars"] == 2
    created = admin.post("hotels", body)
    assert created.status_code == 503, created.json
    assert "domain apply" in created.json["_error"]["message"]
    assert "Restart the API servers" in created.json["_error"]["message"]
    assert created.headers["Retry-After"]
    assert db.hotels.count_documents({"name": "New"}) == 0
    assert admin.get(f"hotels/{hotel['_id']}").status_code == 200
