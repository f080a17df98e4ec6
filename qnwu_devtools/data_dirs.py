"""Data directories for the benchmark and the tests: copied as they stand, the live file linked again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_data_dir(source: Path, target: Path, leave_out: tuple[str, ...] = ()) -> None:
    """Copy a data directory as it stands, without its top-level folders named in `leave_out`
    (such as the ingested files' archive). The live published file is a hard link to its version
    (publish.current_version tells the live version by inode); a plain copy would make two files,
    and the copy would look as if nothing were published: link them again."""
    shutil.copytree(
        source,
        target,
        symlinks=True,
        ignore=lambda folder, names: [name for name in names if name in leave_out and Path(folder) == source],
    )
    live = target / "published" / "warehouse.duckdb"
    kept = sorted((target / "published" / "versions").glob("*.duckdb"))
    if live.exists() and kept:
        live.unlink()
        os.link(kept[-1], live)
