"""The baseline bench/search.py measures Innkeeper against: bare Flask + pymongo.

The same search (search/availability.py: the same two indexed finds and the same grouping
and pricing in Python), a hotel list by city and a hotel by id, with none of Innkeeper's
framework: no Eve, no hooks, no auth, no rate limiter, no cache, no validation beyond
parsing. Served by gunicorn exactly like the API. `MONGO_URI` names the database.
"""

import os
import sys
from pathlib import Path

import pymongo
import simplejson as json
from bson import ObjectId
from flask import Flask, Response, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routes.availability import parse_query  # noqa: E402
from search import availability  # noqa: E402

app = Flask(__name__)
db = pymongo.MongoClient(os.environ["MONGO_URI"])[os.environ.get("MONGO_DBNAME", "innkeeper")]


def _json(payload):
    return Response(json.dumps(payload, default=str), mimetype="application/json")


@app.get("/availability")
def search():
    offers, total, _meta = availability.search(db, parse_query(request.args.to_dict()))
    return _json({"_items": offers, "_meta": {"total": total}})


@app.get("/hotels")
def hotels():
    found = db.hotels.find({"address.city": request.args["city"]}).limit(25)
    return _json({"_items": list(found)})


@app.get("/hotels/<hotel_id>")
def hotel(hotel_id):
    return _json(db.hotels.find_one({"_id": ObjectId(hotel_id)}))
