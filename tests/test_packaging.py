"""The installable package: a wheel built from the checkout carries the prompts and migrations.

Built with the setuptools already installed (no build isolation), so nothing is downloaded.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_prompts_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("cluster_diary_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for language in ("en", "nl", "hr", "cs", "hu", "it", "pt"):
        assert f"prompts/{language}.toml" in names
    assert "storage/migrations/env.py" in names
    assert "storage/migrations/script.py.mako" in names
    assert "storage/schemas/export-1.schema.json" in names  # the analysts' export's shape
    assert "bot/export_html.css" in names  # the HTML export's style sheet
    assert any(n.startswith("storage/migrations/versions/0001_") for n in names)
    assert "bot/cli.py" in names and "handlers/router.py" in names
    assert not any(n.startswith("tests/") for n in names)
