"""``benchkit publish RELEASE --repo ORG/NAME``: a release as a Hugging Face Hub dataset repository.

The folder that is uploaded (``--dry-run DIR`` writes it and uploads nothing):
- ``<task>/<split>.parquet`` per task of the suite: the canonical rows (id, the role columns, the official label
  strings); a split whose labels the card hides carries no label column;
- ``README.md``, the dataset card: YAML metadata the Hub reads (licence, languages, pretty name, task categories,
  size category, one ``configs`` entry per task with its split files, the split sizes) above the release's datasheet,
  a table of the tasks and the citation;
- ``leaderboard/``: the release's leaderboard (markdown and results) and datasheet.

The token is whatever ``huggingface_hub`` finds (``HF_TOKEN``, or the login cache); benchkit never reads, writes or
prints it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from benchkit.atomic import building_dir
from benchkit.errors import BenchkitError, Problem

# (not manifest.json: it records this machine's absolute paths)
LEADERBOARD_FILES = ("leaderboard.md", "results.jsonl", "datasheet.md")
# Hub task categories by benchkit task type (https://huggingface.co/docs/hub/datasets-cards).
HUB_CATEGORIES = {"single_text_classification": "text-classification", "text_pair_classification":
                  "text-classification", "grouped_classification": "text-classification", "regression":
                  "text-classification", "token_classification": "token-classification", "multiple_choice":
                  "multiple-choice", "span_extraction": "question-answering", "candidate_ranking": "question-answering"}
# ISO 639-3 codes benchkit cards use (eng-Latn) -> the ISO 639-1 codes the Hub lists, where one exists.
ISO_639_1 = {"eng": "en", "pol": "pl", "deu": "de", "fra": "fr", "spa": "es", "ita": "it", "por": "pt", "nld": "nl",
             "ces": "cs", "slk": "sk", "ukr": "uk", "rus": "ru", "fin": "fi", "swe": "sv", "dan": "da", "nor": "no",
             "hun": "hu", "ron": "ro", "bul": "bg", "ell": "el", "tur": "tr", "ara": "ar", "heb": "he", "hin": "hi",
             "zho": "zh", "jpn": "ja", "kor": "ko", "vie": "vi", "ind": "id", "est": "et", "lav": "lv", "lit": "lt",
             "slv": "sl", "hrv": "hr", "srp": "sr", "cat": "ca", "eus": "eu", "glg": "gl", "isl": "is", "gle": "ga"}


def hub_language(code: str) -> str:
    base = code.split("-")[0].lower()
    return ISO_639_1.get(base, base)


def size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M"


def _licence(licences: list[str | None]) -> dict[str, Any]:
    """The Hub's ``license`` field: one SPDX-like id when every task shares it, else ``other`` with the names."""
    known = {value.strip() for value in licences if value}
    simple = {value.lower() for value in known if " " not in value}
    if len(known) == 1 and simple:
        return {"license": simple.pop()}
    return {"license": "other", "license_name": "see-task-licences", "license_details": "; ".join(sorted(known))
            or "not stated"}


def build_folder(release: Path, data_dir: Path | None, out: Path) -> dict[str, Any]:
    """Write the folder to upload into ``out`` (built aside, then moved into place); returns the dataset card's
    metadata."""
    from benchkit.cards import catalog
    from benchkit.validation.frames import load_frames

    manifest_path = release / "manifest.json"
    if not manifest_path.is_file():
        raise BenchkitError(Problem("not a release: no manifest.json", file=str(release), field="RELEASE",
                                    hint="pass a folder written by 'benchkit release', e.g. results/releases/<suite>/"
                                         "<version>"))
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    suite_id, version = manifest["suite"]["id"], manifest["suite"]["version"]
    suite = catalog.load_suite(suite_id)
    recorded = manifest.get("data_dir") or {}
    candidates = [release / recorded["from_release"]] if recorded.get("from_release") else []
    candidates += [Path(recorded["absolute"])] if recorded.get("absolute") else []
    directory = data_dir or next((c for c in candidates if c.is_dir()), None) or catalog.suite_data_dir(suite, None)
    with building_dir(out, replace=True) as work:
        configs, infos, rows_total, categories, languages, licences, rows_table = [], [], 0, set(), [], [], []
        for entry in manifest["tasks"]:
            card = catalog.load_task(entry["id"])
            config = card.id.split("/", 1)[1]
            frames = load_frames(card, directory)
            files, splits = [], []
            for split, frame in frames.items():
                frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
                if card.splits[split].labels == "hidden":
                    frame = frame.drop(columns=[c for c in ("label", "tags") if c in frame.columns])
                (work / config).mkdir(exist_ok=True)
                frame.to_parquet(work / config / f"{split}.parquet", index=False)
                files.append({"split": split, "path": f"{config}/{split}.parquet"})
                splits.append({"name": split, "num_bytes": int(frame.memory_usage(deep=True).sum()),
                               "num_examples": len(frame)})
                rows_total += len(frame)
            configs.append({"config_name": config, "data_files": files})
            infos.append({"config_name": config, "splits": splits})
            categories.add(HUB_CATEGORIES.get(card.type, "text-classification"))
            if hub_language(card.language) not in languages:
                languages.append(hub_language(card.language))
            licences.append(card.license)
            sizes = ", ".join(f"{s['name']} {s['num_examples']:,}" for s in splits)
            hidden = [s for s, spec in card.splits.items() if spec.labels == "hidden" and s in frames]
            rows_table.append(f"| `{config}` | {card.name} | {card.type} | {sizes} | "
                              f"{', '.join(hidden) or '-'} |")
        metadata: dict[str, Any] = {
            **_licence(licences), "language": languages, "pretty_name": f"{suite.card.name} {version}",
            "task_categories": sorted(categories), "size_categories": [size_category(rows_total)],
            "tags": ["benchkit", f"benchkit-suite:{suite_id}"], "configs": configs, "dataset_info": infos}
        leaderboard = work / "leaderboard"
        leaderboard.mkdir()
        for name in LEADERBOARD_FILES:
            if (release / name).is_file():
                shutil.copy2(release / name, leaderboard / name)
        datasheet = (release / "datasheet.md").read_text(encoding="utf-8") if (release / "datasheet.md").is_file() \
            else ""
        body = [f"# {suite.card.name} {version}", "", suite.card.description or "", "",
                "| config | task | type | splits (rows) | labels withheld |", "|---|---|---|---|---|", *rows_table, "",
                "Labels are the official strings. Splits whose labels the benchmark keeps private carry no label "
                "column. The leaderboard of this release is in `leaderboard/`.", "",
                f"Built and versioned with benchkit (release {suite_id} {version}).", ""]
        if datasheet:
            body += ["## Datasheet", "", datasheet.strip(), ""]
        if suite.card.citation:
            body += ["## Citation", "", "```", suite.card.citation.strip(), "```", ""]
        front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)
        (work / "README.md").write_text(f"---\n{front}---\n\n" + "\n".join(body), encoding="utf-8")
    return metadata


def upload(folder: Path, repo: str, private: bool, message: str) -> str:
    """Create the dataset repo if needed and upload ``folder``; returns the repo's URL. The token is the one
    huggingface_hub finds; a missing one is an error that says how to log in."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

    api = HfApi()
    try:
        url = api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="dataset", commit_message=message)
    except LocalTokenNotFoundError:
        raise BenchkitError(Problem("no Hugging Face token found", field="--repo",
                                    hint="set HF_TOKEN or run 'huggingface-cli login'; --dry-run needs none")) from None
    except HfHubHTTPError as error:
        status = getattr(error.response, "status_code", "?")
        raise BenchkitError(Problem(f"the Hub refused the upload to {repo} (HTTP {status})", field="--repo",
                                    hint="check that the token may write to this organisation, or try --dry-run"))\
            from None
    except OSError as error:
        raise BenchkitError(Problem(f"cannot reach the Hub: {type(error).__name__}", field="--repo",
                                    hint="check the network, or write the folder with --dry-run DIR")) from None
    return str(url)
