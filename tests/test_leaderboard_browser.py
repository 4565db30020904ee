"""The leaderboard page in headless Chromium (Debian's ``chromium``; .ci/run installs it when it can): the table
renders, sorting works through the page's own click handler, and a screenshot is saved to tests/artifacts/."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO
from release_helpers import SUITE, invoke, shared_runs

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("release-runs")]
ARTIFACTS = REPO / "tests" / "artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("headless Chromium not found: install Debian's package (apt-get install chromium); .ci/run "
                    "installs it where apt-get is available")
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict:
    runs = shared_runs(tmp_path_factory, tiny_model)
    root = tmp_path_factory.mktemp("browser-release")
    with contextlib.chdir(root):
        result = invoke("release", SUITE, "--version", "1.0.0", "--runs", runs, "--out", root / "releases",
                        "--resamples", "100")
    assert result.exit_code == 0, result.output
    folder = root / "releases" / SUITE / "1.0.0"
    return {"html": folder / "leaderboard.html", "manifest": json.loads((folder / "manifest.json").read_text()),
            "profile": root / "profile"}


def headless(chromium: str, page: dict, query: str = "", *extra: str) -> str:
    url = page["html"].as_uri() + query
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
            f"--user-data-dir={page['profile']}", "--virtual-time-budget=3000", *extra, url]
    done = subprocess.run(args, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def rows(dom: str) -> list[str]:
    body = dom[dom.index('<table id="leaderboard"'):]
    body = body[:body.index("</table>")]
    return re.findall(r'<tr data-entry="([^"]+)"', body)


def table_tag(dom: str) -> str:
    return re.search(r'<table id="leaderboard"[^>]*>', dom).group(0)


def entries(page: dict) -> dict[str, dict]:
    return {e["entry"]: e for e in page["manifest"]["entries"]}


def test_table_renders(chromium: str, page: dict) -> None:
    dom = headless(chromium, page, "", "--dump-dom")
    assert rows(dom) == [e["entry"] for e in page["manifest"]["entries"]]  # rank order: complete entry first
    headers = re.findall(r'<th data-key="([^"]+)"', dom)
    assert headers == ["rank", "model", "method", "score", "task:glue-mini/sst2", "task:glue-mini/cola",
                       "task:glue-mini/mrpc", "task:glue-mini/stsb", "trainable", "memory", "time", "optimizer", "latency", "seeds"]
    assert 'tabindex="0"' in dom  # the script ran: headers are keyboard-focusable sort buttons
    assert "data-sorted-by" not in table_tag(dom)
    assert re.search(r'<img alt="suite score against trainable parameters[^>]+src="data:image/png;base64,', dom)


@pytest.mark.parametrize("key, direction", [("model", "asc"), ("model", "desc"), ("trainable", "asc"),
                                            ("score", "asc"), ("time", "desc")])
def test_sorting(chromium: str, page: dict, key: str, direction: str) -> None:
    dom = headless(chromium, page, f"?sort={key}&dir={direction}", "--dump-dom")
    tag = table_tag(dom)
    assert f'data-sorted-by="{key}"' in tag
    assert f'data-sort-dir="{"ascending" if direction == "asc" else "descending"}"' in tag
    assert re.search(rf'<th data-key="{key}"[^>]*aria-sort="{"ascending" if direction == "asc" else "descending"}"',
                     dom)
    by_entry = entries(page)
    value = {"model": lambda e: Path(e["model"]).name, "trainable": lambda e: e["costs"]["trainable_parameters"],
             "score": lambda e: e["suite_score"], "time": lambda e: e["costs"]["train_seconds"]}[key]
    expected = sorted(by_entry, key=lambda slug: value(by_entry[slug]), reverse=direction == "desc")
    assert rows(dom) == expected


def test_screenshot(chromium: str, page: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "leaderboard.png"
    shot.unlink(missing_ok=True)
    headless(chromium, page, "?sort=score&dir=desc", f"--screenshot={shot}", "--window-size=1280,1500")
    assert shot.is_file()
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[:2] == (1500, 1280)
    assert pixels.std() > 0.05  # not a blank page
