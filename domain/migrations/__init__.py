"""Data migrations for `flask --app run domain apply --migration <name>`.

A module here defines migrate(db) -> number of documents changed; it runs before the
new validators are set, so it can bring existing documents in line with a new rule.
"""
