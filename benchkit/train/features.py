"""Tokenization, done once per (data, tokenizer, settings) and cached on disk under the run folder's cache."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def cache_key(card: TaskCard, split: str, data_sha256: str, tokenizer_hash: str, head: Head, max_length: int) -> str:
    material = json.dumps({"task": card.id, "version": card.version, "split": split, "data": data_sha256,
                           "tokenizer": tokenizer_hash, "head": head.name, "max_length": max_length,
                           "fields": card.split_fields(split).model_dump(), "format": 1}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def tokenize(dataset: "datasets.Dataset", tokenizer: Any, card: TaskCard, head: Head, max_length: int,
             cache_dir: Path | None, key: str) -> tuple["datasets.Dataset", bool]:
    """The tokenized split and whether it came from the cache. Keeps ``id`` and the text roles for decoding."""
    import datasets

    target = cache_dir / key if cache_dir else None
    if target is not None and (target / "dataset_info.json").is_file():
        return datasets.load_from_disk(str(target)), True
    keep = {"id", "tokens"}
    encoded = dataset.map(lambda batch: head.encode(batch, tokenizer, card, max_length), batched=True,
                          remove_columns=[c for c in dataset.column_names if c not in keep], desc=None,
                          load_from_cache_file=False)
    encoded = encoded.add_column("length", [len(ids) if not isinstance(ids[0], list) else max(map(len, ids))
                                            for ids in encoded["input_ids"]])
    if target is not None:
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        encoded.save_to_disk(str(partial))
        partial.rename(target)  # a killed run never leaves a half-written cache entry
        encoded = datasets.load_from_disk(str(target))
    return encoded, False
