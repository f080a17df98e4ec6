"""Data Docs that open with no internet.

Great Expectations' page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega
from CDNs. Offline (a province office's intranet) the index page stays blank: its list of
validation results is built by bootstrap-table, a script that never loads. bin/setup installs
those files from npm (assets/data_docs/, locked); after each Data Docs build the gate copies them
into the site and rewrites the pages' links to them (assets/data_docs/offline.yml says which file
replaces which address). A page's links to GX's documentation are left: they load nothing.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from qnwu_warehouse.settings import REPO_ROOT

ASSETS_DIR = REPO_ROOT / "assets" / "data_docs"
OFFLINE_FOLDER = Path("static") / "offline"
# a stylesheet, script or image the browser would fetch by itself (not a link a reader may follow)
_REMOTE_LOAD = re.compile(r"""<(?:script|img)\b[^>]*\bsrc=["'](https?://[^"']+)|<link\b[^>]*\bhref=["'](https?://[^"']+)""")


@dataclass(frozen=True)
class OfflineSite:
    installed: bool  # False: the npm assets are not installed (run bin/setup); pages left as GX wrote them
    pages_rewritten: int
    remote_loads: tuple[str, ...]  # what a page still fetches from the internet (should be none)


def _spec(assets_dir: Path) -> dict:
    return yaml.safe_load((assets_dir / "offline.yml").read_text(encoding="utf-8"))


def remote_loads(html: str) -> list[str]:
    """The addresses a browser would fetch by itself when opening the page."""
    return [script or link for script, link in _REMOTE_LOAD.findall(html)]


def _copy_assets(spec: dict, modules: Path, target: Path) -> None:
    """Copy what the site lacks (or what npm has since replaced): each run checks, copies nothing."""
    for asset in spec["assets"]:
        for relative in filter(None, (asset["file"], asset.get("with"))):
            source = modules / relative
            for file in sorted(source.rglob("*")) if source.is_dir() else [source]:
                if file.is_dir():
                    continue
                destination = target / file.relative_to(modules)
                if not destination.exists() or destination.stat().st_size != file.stat().st_size:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(file, destination)


def make_offline(site_dir: Path, changed_since: float | None = None, assets_dir: Path = ASSETS_DIR) -> OfflineSite:
    """Serve the Data Docs' assets from the site itself. Pages written at or after `changed_since`
    (a time.time(); None: every page) are rewritten: the others were at their own build."""
    spec, modules = _spec(assets_dir), assets_dir / "node_modules"
    if not modules.is_dir():
        return OfflineSite(False, 0, ())
    target = site_dir / OFFLINE_FOLDER
    if not target.is_dir():
        changed_since = None  # the first offline build: the pages of earlier builds too
    _copy_assets(spec, modules, target)
    rewritten, remote = 0, set()
    for page in site_dir.rglob("*.html"):
        if changed_since is not None and page.stat().st_mtime < changed_since:
            continue
        html = page.read_text(encoding="utf-8")
        to_offline = Path(os.path.relpath(target, page.parent)).as_posix()
        to_site = Path(os.path.relpath(site_dir, page.parent)).as_posix()
        new = html
        for asset in spec["assets"]:
            new = new.replace(f'"{asset["url"]}"', f'"{to_offline}/{asset["file"]}"')
        for image in spec["images"]:
            new = re.sub(rf'"{re.escape(image["url_prefix"])}[^"]*"', f'"{to_site}/{image["site_file"]}"', new)
        if new != html:
            scratch = page.with_name(page.name + ".offline")
            scratch.write_text(new, encoding="utf-8")
            scratch.replace(page)  # a reader never sees half a page
            rewritten += 1
        remote.update(remote_loads(new))
    return OfflineSite(True, rewritten, tuple(sorted(remote)))
