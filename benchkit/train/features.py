"""Tokenization, done once per (rows, tokenizer, head, max_length) and cached on disk (``--cache-dir``)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchkit.atomic import unique_name
from benchkit.cards.schema import TaskCard
from benchkit.train.heads import Head

if TYPE_CHECKING:
    import datasets

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt",
                   "special_tokens_map.json", "sentencepiece.bpe.model", "spiece.model", "tokenizer.model")


def tokenizer_sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def rows_fingerprint(dataset: "datasets.Dataset") -> str:
    """sha256 of exactly the rows a split holds (values, order and features, label names included): whatever
    chose them (a file, a card's derive seed, a label map, a seeded subset) is reflected, nothing else is."""
    digest = hashlib.sha256(json.dumps(dataset.features.to_dict(), sort_keys=True).encode())
    for batch in dataset.iter(batch_size=1024):
        digest.update(json.dumps(batch, sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def cache_key(rows_sha256: str, tokenizer_hash: str, head: Head, max_length: int, card: TaskCard | None = None) -> str:
    """Tokenized rows depend on the rows, the tokenizer, the head's encoding (with the card's list specs, e.g. the
    placeholder candidates fill) and the length limit: nothing else."""
    lists = {role: spec.model_dump() for role, spec in card.lists.items()} if card is not None else {}
    material = json.dumps({"rows": rows_sha256, "tokenizer": tokenizer_hash, "head": head.name,
                           "max_length": max_length, "format": 2, **({"lists": lists} if lists else {})},
                          sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def tokenize(dataset: "datasets.Dataset", tokenizer: Any, card: TaskCard, head: Head, max_length: int,
             cache_dir: Path | None, key: str) -> tuple["datasets.Dataset", bool]:
    """The tokenized split and whether it came from the cache. Keeps ``id`` and the text roles for decoding."""
    import datasets

    target = cache_dir / key if cache_dir else None
    if target is not None and (target / "dataset_info.json").is_file():
        return datasets.load_from_disk(str(target)), True
    keep = {"id", "tokens", *head.keep}
    encoded = dataset.map(lambda batch: head.encode(batch, tokenizer, card, max_length), batched=True,
                          remove_columns=[c for c in dataset.column_names if c not in keep], desc=None,
                          load_from_cache_file=False)
    encoded = encoded.add_column("length", [len(ids) if not isinstance(ids[0], list) else max(map(len, ids))
                                            for ids in encoded["input_ids"]])
    if target is not None:
        # per process and host: packed runs, and runs on other nodes sharing the cache, tokenize the same rows at once
        partial = target.with_name(f"{target.name}.partial-{unique_name()}")
        shutil.rmtree(partial, ignore_errors=True)
        encoded.save_to_disk(str(partial))
        try:
            partial.rename(target)  # a killed run never leaves a half-written cache entry
        except OSError:  # another run's identical entry landed first
            if not (target / "dataset_info.json").is_file():
                raise
            shutil.rmtree(partial, ignore_errors=True)
        encoded = datasets.load_from_disk(str(target))
    return encoded, False
