// Runs once, when the mongo volume is first initialised (docker-entrypoint-initdb.d).
// Creates the API's account and the read-only analyst account.
const dbName = process.env.MONGO_DBNAME || "innkeeper";
const admin = db.getSiblingDB("admin");

admin.createUser({
  user: "innkeeper",
  pwd: process.env.MONGO_APP_PASSWORD,
  // dbAdmin: the API creates indexes, validators (collMod) and views at start-up.
  roles: [{ role: "readWrite", db: dbName }, { role: "dbAdmin", db: dbName }],
});

// Analysts read the catalogue, bookings, payments, reviews and the KPI views, never
// `users` (password hashes): they read the `users_public` view instead.
const readable = [
  "hotels", "room_types", "inventory", "bookings", "payments", "reviews",
  "occupancy_daily", "bookings_flat", "users_public",
];
admin.createRole({
  role: "innkeeperAnalyst",
  privileges: readable
    .map((collection) => ({
      resource: { db: dbName, collection },
      actions: ["find", "listIndexes", "collStats"],
    }))
    .concat([{ resource: { db: dbName, collection: "" }, actions: ["listCollections"] }]),
  roles: [],
});
admin.createUser({
  user: "analyst",
  pwd: process.env.ANALYST_PASSWORD,
  roles: [{ role: "innkeeperAnalyst", db: "admin" }],
});
