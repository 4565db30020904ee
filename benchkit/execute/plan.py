"""The run plan: suite x models x methods x seeds, each run with its full configuration and a hash of it.

A run is identified by its configuration hash (task card version and content, data hashes, model and tokenizer hashes,
method, seed, effective recipe; for a task whose model also scores companion tasks with labels, e.g. RTE with the
diagnostics AX-b and AX-g, also their data hashes), never by its folder name, so resuming skips exactly the runs
already done. Companions with hidden labels (GLUE AX with MNLI) are only predicted and do not enter the hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.cards.identity import card_sha256
from benchkit.cards.schema import TaskCard
from benchkit.contracts.recipe import hashed_recipe
from benchkit.contracts.run_records import CardRef, DataFile
from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.loading import locate, split_identity
from benchkit.train.features import tokenizer_sha256
from benchkit.train.methods import METHODS, MethodSpec, method_recipe, method_spec, preflight
from benchkit.train.models import ResolvedModel
from benchkit.train.recipes import resolve_recipe
from benchkit.train.spec import RunSpec


@dataclass(frozen=True)
class RecipeLayers:
    """Recipe layers given by the user (a recipe file and --set overrides); suite and model layers come from cards."""

    file: dict[str, Any]
    cli: dict[str, Any]
    # per task id: the recipe file's task section (fields, and method options such as lora.r), over ``file``
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)


def default_cache_dir() -> Path:
    """Outside the results folder, so DVC outputs and release inputs hold no cache."""
    return Path(os.environ.get("BENCHKIT_CACHE", "~/.cache/benchkit")).expanduser()


def data_files(card: TaskCard, data_dir: Path) -> dict[str, DataFile]:
    files: dict[str, DataFile] = {}
    problems: list[Problem] = []
    for split in card.splits:
        where = locate(card, split, data_dir)
        if where is None:
            continue
        if not where.exists:
            problems.append(Problem(f"missing data: split '{split}' of {card.id} not found", file=where.location,
                                    hint="run 'benchkit validate' on the suite with this --data-dir"))
            continue
        name, digest = split_identity(card, where, data_dir)
        files[split] = DataFile(file=name, sha256=digest, rows=card.splits[split].rows or 0)
    if problems:
        raise BenchkitError(*problems)
    return files


def companion_files(companions: list[TaskCard], data_dir: Path) -> dict[str, DataFile]:
    """"<task>:<split>" -> the file of each companion split a run predicts (absent files are skipped, as the run
    skips them)."""
    from benchkit.train.loop import companion_splits

    files: dict[str, DataFile] = {}
    for companion in companions:
        for split in companion_splits(companion, data_dir):
            where = locate(companion, split, data_dir)
            if where is None:
                continue
            name, digest = split_identity(companion, where, data_dir)
            files[f"{companion.id}:{split}"] = DataFile(file=name, sha256=digest, rows=companion.splits[split].rows or 0)
    return files


def config_hash(card: TaskCard, data: dict[str, DataFile], model: ResolvedModel, tokenizer: str, method: str,
                method_options: dict[str, Any], seed: int, recipe: dict[str, Any],
                companions: dict[str, DataFile] | None = None, prompt: str | None = None) -> str:
    # the card's content (labels.map, inputs, splits, metrics, ...): an edited card is a new run even at one version
    config = {"task": card.id, "task_version": card.version, "card": card_sha256(card),
              "data": {s: d.sha256 for s, d in sorted(data.items())},
              "model": model.sha256, "model_name": model.name, "tokenizer": tokenizer, "method": method, "method_options": method_options,
              "seed": seed, "recipe": recipe}
    if companions:  # labelled companion splits: the record's diagnostics are scores on them
        config["companions"] = {k: d.sha256 for k, d in sorted(companions.items())}
    if prompt is not None:  # a prompted run: the prompt's hash (an edited prompt is a new run)
        config["prompt"] = prompt
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def method_specs(methods: str, options: dict[str, Any]) -> list[MethodSpec]:
    """``full,lora,bitfit`` -> one spec each; ``--set lora.r=8`` goes to the methods that use lora. An option for a
    method none of them uses is an error (a typo would otherwise be silently ignored)."""
    names = [m.strip() for m in methods.split(",") if m.strip()]
    if not names or len(set(names)) != len(names):
        raise BenchkitError(Problem(f"expected distinct methods, got '{methods}'", field="--method",
                                    hint="e.g. --method full,lora,bitfit"))
    used = {METHODS.canonical(p) if p in METHODS else p for n in names for p in n.split("+")}
    for key in options:
        owner = key.split(".", 1)[0]
        owner = METHODS.canonical(owner) if owner in METHODS else owner
        if owner not in used:
            raise BenchkitError(Problem(f"option '{key}' is for method '{owner}', which no run uses",
                                        field=key, hint=f"add it to --method (e.g. --method {methods},{owner})"
                                        if owner in METHODS else did_you_mean(owner, sorted(used))
                                        or f"methods: {', '.join(METHODS.names())}"))
    specs = []
    for name in names:
        mine = {p for p in name.split("+")}
        mine |= {METHODS.canonical(p) for p in mine if p in METHODS}
        specs.append(method_spec(name, {k: v for k, v in options.items() if k.split(".", 1)[0] in mine}))
    return specs


def method_folder(spec: MethodSpec) -> str:
    """The method's part of a run folder: its name, plus a digest of its options when it has any."""
    flat = spec.flat_options()
    if not flat:
        return spec.name
    return f"{spec.name}-{hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()[:8]}"


def build_plan(suite: Suite, tasks: list[TaskCard], models: list[ResolvedModel], seeds: list[int], method: str,
               layers: RecipeLayers, data_dir: Path, out: Path, cache_dir: Path | None = None,
               method_options: dict[str, Any] | None = None, mode: str = "fine-tune") -> list[RunSpec]:
    given_shots = "shots" in layers.cli or "shots" in layers.file
    if mode != "few-shot" and given_shots:
        raise BenchkitError(Problem(f"shots is for --mode few-shot; this is --mode {mode}", field="shots",
                                    hint="add --mode few-shot, or drop --set shots"))
    if mode != "fine-tune":
        return build_prompted_plan(suite, tasks, models, seeds, mode, layers, data_dir, out, method, method_options)
    method_specs(method, method_options or {})  # option typos: one error before any task is planned
    cache = (cache_dir or default_cache_dir()) / "tokenized"
    suite_ref = CardRef(id=suite.card.id, version=suite.card.version)
    plan: list[RunSpec] = []
    planned: set[str] = set()
    trainable = [t for t in tasks if any(s.startswith("train") for s in t.splits)]
    for card in trainable:
        section = layers.tasks.get(card.id, {})
        task_fields = {k: v for k, v in section.items() if "." not in k}
        specs = method_specs(method, {**(method_options or {}),
                                      **{k: v for k, v in section.items() if "." in k and k not in (method_options or {})}})
        data = data_files(card, data_dir)
        companions = [t for t in tasks if card.id in t.evaluators]
        predicted = companion_files(companions, data_dir)
        cards = {c.id: c for c in companions}
        scored = {k: d for k, d in predicted.items()
                  if cards[k.rsplit(":", 1)[0]].splits[k.rsplit(":", 1)[1]].labels == "present"}
        for model in models:
            for spec in specs:
                preflight(spec, str(model.path), card)  # target modules, a distillation teacher: before training
            tokenizer = tokenizer_sha256(model.path)
            for spec in specs:
                recipe, sources = resolve_recipe([(f"suite:{suite.card.id}", suite.card.recipe),
                                                  (f"model:{model.name}", model.recipe),
                                                  (f"method:{spec.name}", method_recipe(spec)),
                                                  ("recipe-file", layers.file),
                                                  (f"recipe-file:{card.id}", task_fields), ("cli", layers.cli)])
                options = spec.flat_options()
                preflight(spec, str(model.path), card, recipe)  # the recipe's objective (SFT) too
                # SFT learns to write the prompt's verbalisers after its query: the prompt shapes the run
                sft_prompt = _sft_prompt_sha256(card) if recipe.objective == "sft" else None
                for seed in seeds:
                    digest = config_hash(card, data, model, tokenizer, spec.name, options, seed,
                                         hashed_recipe(recipe), scored, prompt=sft_prompt)
                    if digest in planned:  # a repeated --model or --seeds value: one run, planned once
                        continue
                    planned.add(digest)
                    folder = (out / "runs" / suite.card.id / card.id.split("/", 1)[1] / model.slug /
                              method_folder(spec) / f"seed{seed}-{digest[:10]}")
                    plan.append(RunSpec(suite_ref, card, data_dir, data, model, spec.name, options, seed, recipe,
                                        sources, digest, folder, cache,
                                        {"companions": companions, "companion_data": predicted}))
    return plan


def _sft_prompt_sha256(card: TaskCard) -> str:
    from benchkit.cards.prompts import prompt_sha256, resolve_prompt
    from benchkit.cards.roots import card_roots

    return prompt_sha256(resolve_prompt(card, card_roots()))


# The recipe fields a prompted run reads (k is in its method options): its identity hashes these, so a fine-tuning
# field set for a mixed grid (--set epochs=1) asks nothing again.
PROMPTED_FIELDS = ("bootstrap_resamples", "chat_template", "backend")


def prompted_recipe(recipe: Any) -> dict[str, Any]:
    return {name: getattr(recipe, name) for name in PROMPTED_FIELDS}


def build_prompted_plan(suite: Suite, tasks: list[TaskCard], models: list[ResolvedModel], seeds: list[int], mode: str,
                        layers: RecipeLayers, data_dir: Path, out: Path, method: str,
                        method_options: dict[str, Any] | None) -> list[RunSpec]:
    """Zero- or few-shot runs: task x model x seed, each asking a causal language model with the task's prompt
    (``train.prompted``); the mode and its shots take the method's place, the prompt's hash enters the identity."""
    from benchkit.train.prompted import plan_prompted

    if method != "full" or method_options:
        raise BenchkitError(Problem(f"--mode {mode} trains nothing, so it takes no --method or method options",
                                    field="--method", hint="drop --method (or fine-tune: --mode fine-tune)"))
    suite_ref = CardRef(id=suite.card.id, version=suite.card.version)
    plan: list[RunSpec] = []
    planned: set[str] = set()
    for card in [t for t in tasks if not t.evaluators]:  # companions (AX) are asked by their own prompt: not yet
        section = layers.tasks.get(card.id, {})
        task_fields = {k: v for k, v in section.items() if "." not in k}
        data = data_files(card, data_dir)
        for model in models:
            tokenizer = tokenizer_sha256(model.path)
            recipe, sources = resolve_recipe([(f"suite:{suite.card.id}", suite.card.recipe),
                                              (f"model:{model.name}", model.recipe), ("recipe-file", layers.file),
                                              (f"recipe-file:{card.id}", task_fields), ("cli", layers.cli)])
            asked = plan_prompted(card, model, mode, recipe.shots)
            for seed in seeds:
                digest = config_hash(card, data, model, tokenizer, asked.method, asked.options, seed,
                                     prompted_recipe(recipe), prompt=asked.prompt_sha256)
                if digest in planned:
                    continue
                planned.add(digest)
                folder = (out / "runs" / suite.card.id / card.id.split("/", 1)[1] / model.slug / asked.folder /
                          f"seed{seed}-{digest[:10]}")
                plan.append(RunSpec(suite_ref, card, data_dir, data, model, asked.method, asked.options, seed, recipe,
                                    sources, digest, folder, None,
                                    {"prompt": asked.prompt, "prompt_sha256": asked.prompt_sha256,
                                     "shots": asked.shots}, mode=mode))
    return plan
