"""Named releases: a published version marked as the figures that were sent out.

`qnwu release create "2023 annual report, sent 2024-01-10" --version V` marks version V (default:
the live one). The version file is hard-linked into ``published/releases/`` and made read-only,
with a JSON record beside it (name, version, time, note, the file's SHA-256). Pruning never
touches that folder, and keeps a released version in ``published/versions/`` too, so a release
can always be opened, or rolled back to, and `qnwu release list` proves it unchanged by its hash.
The next publish copies the register into the version's ``history.releases``
(publish/history.py), where the as-of queries can name a release.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

from qnwu_warehouse.settings import Settings


class ReleaseError(Exception):
    """A release cannot be made or read; the message says what to do."""


def releases_dir(settings: Settings) -> Path:
    return settings.published_dir / "releases"


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")
    return slug[:80] or "release"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_releases(settings: Settings) -> list[dict[str, str]]:
    """Every release, oldest first, each with its record and the path of its file."""
    folder = releases_dir(settings)
    records = []
    for record_path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ReleaseError(f"{record_path}: unreadable release record ({error}); restore it from a backup") from error
        record["file"] = str(record_path.with_suffix(".duckdb"))
        records.append(record)
    return sorted(records, key=lambda r: r["created_at"])


def released_version_names(settings: Settings) -> set[str]:
    return {record["version"] for record in list_releases(settings)}


def find_release(settings: Settings, name: str) -> dict[str, str]:
    for record in list_releases(settings):
        if record["name"] == name or Path(record["file"]).stem == name:
            return record
    known = ", ".join(repr(r["name"]) for r in list_releases(settings)) or "none"
    raise ReleaseError(f"no release named {name!r}; releases: {known} (`qnwu release list`)")


def create_release(settings: Settings, name: str, version: str | None = None, note: str = "") -> dict[str, str]:
    """Mark a published version (file name or stem; default the live one) as release `name`."""
    from qnwu_warehouse.publish.versioning import current_version, versions

    name = name.strip()
    if not name:
        raise ReleaseError("a release needs a name, for example '2023 annual report, sent 2024-01-10'")
    if any(record["name"] == name for record in list_releases(settings)):
        raise ReleaseError(f"a release named {name!r} exists already: releases are never changed; choose another name")
    if version is None:
        source = current_version(settings)
        if source is None:
            raise ReleaseError("nothing is published yet: run the pipeline first (`qnwu run`)")
    else:
        matches = [v for v in versions(settings) if version in (v.name, v.stem)]
        if not matches:
            kept = ", ".join(v.stem for v in versions(settings)) or "none"
            raise ReleaseError(f"no kept published version {version!r}; kept versions: {kept} (`qnwu versions`)")
        source = matches[0]
    folder = releases_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    slug = _slug(name)
    target = folder / f"{slug}.duckdb"
    suffix = 2
    while target.exists() or target.with_suffix(".json").exists():
        target = folder / f"{slug}-{suffix}.duckdb"
        suffix += 1
    os.link(source, target)  # the same bytes, never copied; pruning the version leaves this link
    target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    record = {
        "name": name,
        "version": source.stem,
        "created_at": datetime.now(UTC).isoformat(),
        "note": note,
        "sha256": _sha256(target),
    }
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(partial, target.with_suffix(".json"))
    return {**record, "file": str(target)}


def verify(record: dict[str, str]) -> bool:
    """The release's file still has the bytes it had when it was made."""
    path = Path(record["file"])
    return path.exists() and _sha256(path) == record["sha256"]
