"""Apache Superset's configuration for the warehouse (SUPERSET_CONFIG_PATH points here).

Read by Superset's own virtualenv (.superset-venv), locally through `qnwu superset` and in Docker
by the `superset` service of docker-compose.yml. Everything Superset keeps (its metadata database
of users, connections, datasets, charts and dashboards) lives under the project's data directory,
in ``$QNWU_DATA_DIR/superset/``; nothing is fetched from the internet.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_DATA_DIR = Path(os.environ.get("QNWU_DATA_DIR") or Path(__file__).resolve().parents[1] / "data").expanduser().resolve()
# QNWU_SUPERSET_HOME: docker-compose.yml keeps Superset's state in a volume of its own and mounts the
# data volume read-only (Superset only reads the published file).
SUPERSET_HOME = Path(os.environ.get("QNWU_SUPERSET_HOME") or _DATA_DIR / "superset")
SUPERSET_HOME.mkdir(parents=True, exist_ok=True)

# Superset's own metadata: SQLite in the data directory (one machine; one gunicorn worker).
SQLALCHEMY_DATABASE_URI = f"sqlite:///{SUPERSET_HOME / 'superset.db'}?check_same_thread=false"


def _secret_key() -> str:
    """SUPERSET_SECRET_KEY (set by `qnwu superset` from QNWU_SUPERSET_SECRET_KEY, or by .env in
    Docker), else a key generated once into the data directory and kept there."""
    given = os.environ.get("SUPERSET_SECRET_KEY") or os.environ.get("QNWU_SUPERSET_SECRET_KEY")
    if given:
        return given
    path = SUPERSET_HOME / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as key_file:
            key_file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

# Dashboards are in Vietnamese (titles, labels, figures). Superset 6.1 ships no Vietnamese
# translation of its own interface, so its menus stay in English; numbers use Vietnamese grouping.
BABEL_DEFAULT_LOCALE = "en"
D3_FORMAT = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]}

# Nothing from the internet: no map tiles, no example data, and a Content-Security-Policy that lets
# the browser load from this server only. (Superset's pages carry a telemetry pixel from
# apachesuperset.gateway.scarf.sh and allow map tiles and fonts from other hosts; this policy makes
# the browser refuse them, which tests/test_superset.py checks.)
MAPBOX_API_KEY = ""
SUPERSET_LOAD_EXAMPLES = False
# every chart of a dashboard is drawn at once (also off screen: screenshots, printing)
FEATURE_FLAGS = {"DASHBOARD_RBAC": False, "ENABLE_TEMPLATE_PROCESSING": False, "DASHBOARD_VIRTUALIZATION": False}

# No cache of query results: a chart asks the database each time, so the version published a
# moment ago is what the next reload shows (the marts are small roll-ups; the analyst role's
# statement timeout bounds a slow query).
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# Plain HTTP on a local port (a reverse proxy terminates TLS in a deployment).
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
SESSION_COOKIE_SECURE = False
WTF_CSRF_ENABLED = True
ROW_LIMIT = 50000
SQLLAB_TIMEOUT = 120
SUPERSET_WEBSERVER_TIMEOUT = 120
