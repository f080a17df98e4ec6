"""The Data Docs' assets come from the site itself (qnwu_warehouse/checks/data_docs.py), on a page
written the way GX's templates write them; the pages of a real gate are opened offline in
test_quality_gate.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from qnwu_warehouse.checks.data_docs import ASSETS_DIR, make_offline, remote_loads

SPEC = yaml.safe_load((ASSETS_DIR / "offline.yml").read_text(encoding="utf-8"))
LOGO = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261203T1&dataContextId=x"


def gx_page(*extra: str) -> str:
    loads = [
        f'<script src="{a["url"]}"></script>' if a["file"].endswith(".js") else f'<link rel="stylesheet" href="{a["url"]}">'
        for a in SPEC["assets"]
    ]
    return "<html><head>" + "".join(loads) + f'</head><body><img src="{LOGO}">' + "".join(extra) + "</body></html>"


def test_every_cdn_load_is_served_from_the_site(tmp_path: Path):
    site = tmp_path / "local_site"
    nested = site / "validations" / "suite" / "run" / "20261203T000000Z" / "batch.html"
    nested.parent.mkdir(parents=True)
    (site / "index.html").write_text(gx_page('<a href="https://docs.greatexpectations.io/x">docs</a>'))
    nested.write_text(gx_page())
    assert len(remote_loads(nested.read_text())) == len(SPEC["assets"]) + 1  # and the logo

    offline = make_offline(site)
    assert offline.installed and offline.pages_rewritten == 2 and offline.remote_loads == ()
    for page, prefix in ((site / "index.html", "static/offline/"), (nested, "../../../../static/offline/")):
        html = page.read_text()
        assert remote_loads(html) == []
        for asset in SPEC["assets"]:
            assert f'"{prefix}{asset["file"]}"' in html
            assert (page.parent / prefix / asset["file"]).resolve().is_file()
    assert 'href="https://docs.greatexpectations.io/x"' in (site / "index.html").read_text()  # a link, not a load
    assert '"../../../../static/images/logo-long.png"' in nested.read_text()
    fonts = site / "static" / "offline" / "@fortawesome" / "fontawesome-free" / "webfonts"
    assert any(fonts.glob("*.woff2"))  # what all.min.css loads by relative path


def test_a_cdn_load_it_does_not_know_is_reported(tmp_path: Path):
    site = tmp_path / "local_site"
    site.mkdir()
    (site / "index.html").write_text(gx_page('<script src="https://cdn.example.org/new.js"></script>'))
    assert make_offline(site).remote_loads == ("https://cdn.example.org/new.js",)


def test_without_the_installed_assets_the_pages_are_left_as_written(tmp_path: Path):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "offline.yml").write_text((ASSETS_DIR / "offline.yml").read_text())
    site = tmp_path / "local_site"
    site.mkdir()
    (site / "index.html").write_text(gx_page())
    assert make_offline(site, assets_dir=assets).installed is False
    assert len(remote_loads((site / "index.html").read_text())) == len(SPEC["assets"]) + 1
