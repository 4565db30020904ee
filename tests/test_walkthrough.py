"""The README's walkthrough for a new language, run as a user would in an empty folder: raw Polish files in three
formats (TSV with a header, JSONL, CoNLL) -> new suite -> new task (x3) -> validate -> run a tiny-model baseline ->
release -> publish --dry-run, with no hand edits of the generated files."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("walkthrough")

OPINIONS = {"pozytywny": ["Świetna książka, polecam każdemu", "Znakomity film, wzruszający i mądry",
                          "Obsługa była miła, a jedzenie pyszne", "Gorąco polecam ten hotel nad morzem"],
            "negatywny": ["Nudna i źle napisana powieść", "Żałuję każdej złotówki wydanej na ten sprzęt",
                          "Jedzenie zimne, obsługa opryskliwa", "Fatalna jakość, zepsuł się po tygodniu"]}
CITIES = ["Gdańsku", "Krakowie", "Łodzi", "Wrocławiu", "Poznaniu", "Białymstoku", "Zielonej Górze", "Toruniu"]
NAMES = ["Wałęsa", "Szymborska", "Kościuszko", "Żeromski", "Małysz", "Świątek"]


def write_raw_files(data: Path) -> None:
    rng = random.Random(0)
    (data / "opinie").mkdir(parents=True)
    for split, count in (("train", 48), ("dev", 16), ("test", 16)):
        rows = ["tekst\tocena"]
        for i in range(count):
            label = rng.choice(sorted(OPINIONS))
            text = f"{rng.choice(OPINIONS[label])} ({split} {i})"
            rows.append(f"{text}\t{'' if split == 'test' else label}")
        (data / "opinie" / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (data / "pary").mkdir()
    for split, count in (("train", 48), ("dev", 16)):
        with (data / "pary" / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for i in range(count):
                city, other = rng.sample(CITIES, 2)
                same = rng.random() < 0.5
                out.write(json.dumps({"zdanie_a": f"{rng.choice(NAMES)} mieszka w {city} od lat ({split} {i})",
                                      "zdanie_b": f"Ta osoba od {1990 + i} roku mieszka w {city if same else other}",
                                      "relacja": "zgodne" if same else "sprzeczne"}, ensure_ascii=False) + "\n")
    (data / "ner").mkdir()
    for split, count in (("train", 40), ("dev", 12)):
        sentences = []
        for i in range(count):
            name, city = rng.choice(NAMES), rng.choice(CITIES)
            words = [(name, "B-PER"), ("odwiedził", "O")] + [(w, "B-LOC" if j == 0 else "I-LOC")
                                                            for j, w in enumerate(city.split())]
            words += [("w", "O"), (f"{2000 + i}", "O"), ("roku" if split == "train" else "r.", "O"), (".", "O")]
            sentences.append("\n".join(f"{w} {t}" for w, t in words))
        (data / "ner" / f"{split}.conll").write_text("\n\n".join(sentences) + "\n", encoding="utf-8")


def benchkit(root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "benchkit.cli", *map(str, args)], cwd=root, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1", "BENCHKIT_CACHE": str(root / ".cache")})
    assert done.returncode == 0, f"benchkit {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
    return done


def test_a_polish_benchmark_from_raw_files_to_a_published_release(tmp_path: Path, tiny_polish_model: Path) -> None:
    root = tmp_path / "polski-bench"
    root.mkdir()
    write_raw_files(root / "raw")
    made = benchkit(root, "new", "suite", "polski", "--language", "pol-Latn", "--title", "Polskie zadania")
    assert (root / ".git").is_dir() and (root / ".dvc").is_dir() and "wrote benchmarks/polski.yaml" in made.stdout
    for task in ("opinie", "pary", "ner"):
        (root / "raw" / task).rename(root / "data" / "polski" / task)
    files = {task: sorted((root / "data" / "polski" / task).iterdir()) for task in ("opinie", "pary", "ner")}
    for task, paths in files.items():
        made = benchkit(root, "new", "task", *[p.relative_to(root) for p in paths], "--suite", "polski", "--yes")
        assert f"validate tasks/polski/{task}.yaml: ok" in made.stdout
    cards = {task: (root / "tasks" / "polski" / f"{task}.yaml").read_text(encoding="utf-8") for task in files}
    assert "type: single_text_classification" in cards["opinie"] and "labels: hidden" in cards["opinie"]
    assert "type: text_pair_classification" in cards["pary"] and "derive" not in cards["pary"]
    assert "type: token_classification" in cards["ner"] and "scheme: IOB2" in cards["ner"]
    suite = (root / "benchmarks" / "polski.yaml").read_text(encoding="utf-8")
    assert [line.strip() for line in suite.splitlines() if line.startswith("  - ")] == [
        "- {id: polski/opinie, version: 0.1.0}", "- {id: polski/pary, version: 0.1.0}",
        "- {id: polski/ner, version: 0.1.0}"]
    checked = benchkit(root, "validate", "polski")
    assert "checked 3 task(s), cards and data: 0 error(s)" in checked.stdout
    benchkit(root, "run", "polski", "--model", tiny_polish_model, "--set", "epochs=1", "--set", "max_length=64",
             "--set", "bootstrap_resamples=0", "--set", "select=last", "--quiet", "--release", "0.1.0")
    release = root / "results" / "releases" / "polski" / "0.1.0"
    board = (release / "leaderboard.md").read_text(encoding="utf-8")
    assert "polski/opinie" in board or "opinie" in board
    published = benchkit(root, "publish", release, "--repo", "moje-lab/polski", "--dry-run", root / "hub")
    assert "dry run:" in published.stdout and (root / "hub" / "ner" / "train.parquet").is_file()
    readme = (root / "hub" / "README.md").read_text(encoding="utf-8")
    assert "language:\n- pl\n" in readme and "Polskie zadania 0.1.0" in readme
