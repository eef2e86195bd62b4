"""The domain admin's commands (docs/domain-admins.md) and the OpenAPI document."""

import json
import sys

import click

from catalogue import cards
from plumbing import domain_changes, embedded


def init_app(app):
    cli = app.cli

    @cli.command("openapi")
    def openapi_command():
        """Print the OpenAPI 3.1 document."""
        from pages import docs

        click.echo(json.dumps(docs.openapi_document(app), indent=2))

    @cli.group("domain")
    def domain_group():
        """Check the domain, compare it with the database, apply it."""

    @domain_group.command("check")
    def domain_check():
        """Validate every domain module; messages name the file and field."""
        problems = domain_changes.check_domain()
        for problem in problems:
            click.echo(problem)
        click.echo(f"{len(problems)} problems" if problems else "domain OK")
        sys.exit(1 if problems else 0)

    @domain_group.command("diff")
    def domain_diff():
        """What apply would change (indexes, validators and their violations, views)."""
        embedded.start_planned(app)
        changes = domain_changes.plan(app.data.driver.db)
        for change in changes:
            click.echo(describe_change(change))
        click.echo(f"{len(changes)} changes" if changes else "the database matches the domain")

    @domain_group.command("apply")
    @click.option(
        "--set-default",
        "defaults",
        multiple=True,
        metavar="COLLECTION.FIELD=VALUE",
        help="value for documents lacking a newly required field (JSON or text)",
    )
    @click.option(
        "--migration",
        "migrations",
        multiple=True,
        metavar="NAME",
        help="run domain/migrations/NAME.py first",
    )
    def domain_apply(defaults, migrations):
        """Create indexes, set validators, refresh views; refuse to orphan documents."""
        embedded.start_planned(app)
        parsed = {}
        for item in defaults:
            field, sep, raw = item.partition("=")
            if not sep:
                raise click.BadParameter(f"{item!r}: expected COLLECTION.FIELD=VALUE")
            try:
                parsed[field] = json.loads(raw)
            except ValueError:
                parsed[field] = raw
        try:
            domain_changes.apply(app.data.driver.db, parsed, migrations, log=click.echo)
            cards.domain_applied(app.data.driver.db)
        except (domain_changes.RefusedMigration, ValueError) as error:
            click.echo(f"refused: {error}", err=True)
            sys.exit(2)
        click.echo("applied")


def describe_change(change):
    kind, where = change["kind"], change["collection"]
    if kind == "set validator":
        text = f"{where}: set the $jsonSchema validator"
        if change["violations"]:
            text += (
                f" - {change['violations']} existing documents would violate it, e.g. "
                + ", ".join(change["examples"])
            )
        return text
    if kind == "rename index":
        return f"{where}: index {change['from']} has the keys of {change['name']}; rename it"
    if kind == "view":
        return f"{where}: create or update the view on {change['on']}"
    return f"{where}: {kind} {change['name']} {change.get('keys', '')}"
