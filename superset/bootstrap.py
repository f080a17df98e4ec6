"""Superset's start-up steps after `superset db upgrade` and `superset init`, run by Superset's own
Python (.superset-venv locally, the official image in Docker):

1. the admin user exists, with the password of QNWU_SUPERSET_ADMIN_PASSWORD (reset if it changed);
2. the two database connections point where this deployment's settings say
   (SUPERSET_QNWU_POSTGRES_URI: the served marts as the read-only analyst role;
   SUPERSET_QNWU_DUCKDB_URI: the published DuckDB file, read-only);
3. the dashboards as code in QNWU_SUPERSET_DASHBOARDS (Superset's export format: metadata.yaml,
   databases/, datasets/, charts/, dashboards/) are imported, overwriting what an earlier start
   imported: the folder in git is the truth.

`superset import-dashboards` overwrites the dashboards only (their charts, datasets and databases
are kept as first imported), so each kind is imported here by its own command with overwrite on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

# a database of the bundle, by its driver -> the environment variable holding its URI here
DATABASE_URIS = {
    "postgresql": "SUPERSET_QNWU_POSTGRES_URI",
    "duckdb": "SUPERSET_QNWU_DUCKDB_URI",
}


def _bundle(folder: Path) -> dict[str, str]:
    """The export folder's files, with each database's URI replaced by this deployment's (the URI
    in git is whatever the exporting machine had, with any password masked)."""
    contents = {}
    for path in sorted(folder.rglob("*.yaml")):
        contents[path.relative_to(folder).as_posix()] = path.read_text(encoding="utf-8")
    if "metadata.yaml" not in contents:
        raise SystemExit(f"bootstrap: {folder} has no metadata.yaml: it is not a Superset export folder")
    found = set()
    for name in [name for name in contents if name.startswith("databases/")]:
        config = yaml.safe_load(contents[name])
        driver = config["sqlalchemy_uri"].split(":", 1)[0].split("+", 1)[0]
        if driver not in DATABASE_URIS:
            raise SystemExit(f"bootstrap: {folder}/{name} is a {driver} database; expected one of {sorted(DATABASE_URIS)}")
        uri = os.environ.get(DATABASE_URIS[driver])
        if not uri:
            raise SystemExit(f"bootstrap: {DATABASE_URIS[driver]} is not set (the URI of {name})")
        config["sqlalchemy_uri"] = uri
        contents[name] = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
        found.add(driver)
    if found != set(DATABASE_URIS):
        raise SystemExit(f"bootstrap: {folder}/databases/ should hold one database of each of {sorted(DATABASE_URIS)}")
    return contents


def _as(contents: dict[str, str], kind: str) -> dict[str, str]:
    """The bundle, labelled as an export of one kind (each import command checks the label)."""
    metadata = yaml.safe_load(contents["metadata.yaml"])
    metadata["type"] = kind
    return {**contents, "metadata.yaml": yaml.safe_dump(metadata)}


def main() -> int:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset.commands.chart.importers.v1 import ImportChartsCommand
        from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
        from superset.commands.database.importers.v1 import ImportDatabasesCommand
        from superset.commands.dataset.importers.v1 import ImportDatasetsCommand
        from superset.utils.core import override_user

        from superset import db, security_manager

        login = os.environ.get("QNWU_SUPERSET_ADMIN_USER") or "admin"
        password = os.environ["QNWU_SUPERSET_ADMIN_PASSWORD"]
        user = security_manager.find_user(username=login)
        if user is None:
            role = security_manager.find_role("Admin")
            user = security_manager.add_user(login, "Quản trị", "QNWU", f"{login}@localhost", role, password=password)
            if not user:
                raise SystemExit(f"bootstrap: could not create the admin user {login}")
            print(f"bootstrap: admin user {login} created")
        else:
            security_manager.reset_password(user.id, password)
            print(f"bootstrap: admin user {login} exists; password set from the settings")
        db.session.commit()

        folder = Path(os.environ["QNWU_SUPERSET_DASHBOARDS"])
        contents = _bundle(folder)
        with override_user(user):
            ImportDatabasesCommand(_as(contents, "Database"), overwrite=True).run()
            ImportDatasetsCommand(_as(contents, "SqlaTable"), overwrite=True).run()
            ImportChartsCommand(_as(contents, "Slice"), overwrite=True).run()
            ImportDashboardsCommand(_as(contents, "Dashboard"), overwrite=True).run()
        counts = {
            kind: sum(1 for name in contents if name.startswith(kind + "/"))
            for kind in ("databases", "datasets", "charts", "dashboards")
        }
        print("bootstrap: imported " + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + f" from {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
