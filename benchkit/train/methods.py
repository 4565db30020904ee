"""Fine-tuning methods as data: a name, the options it takes (with defaults), and what it shapes.

A method can shape the model (``prepare``: which parameters train, which adapters apply), the optimizer
(``training_args``: the Trainer's optimizer settings, e.g. 8-bit AdamW or GaLore) or both. ``--method lora+adamw8bit``
combines methods: at most one shapes the model and at most one the optimizer. Options are given per method as
``--set lora.r=8`` and recorded, with the defaults filled in, in every run record and its configuration hash.

``check`` runs before any training: options a method does not take (did-you-mean), target modules absent from the
model (the ones it has are listed), a backend that is not installed or cannot run here (what to install) are one
line each, exit 2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from benchkit.errors import BenchkitError, Problem, did_you_mean
from benchkit.registry import Registry


@dataclass(frozen=True)
class Method:
    name: str
    description: str
    options: Mapping[str, Any] = field(default_factory=dict)  # option -> default (None: chosen per architecture)
    prepare: Callable[[Any, dict[str, Any]], Any] | None = None  # (model, options) -> the model to train
    training_args: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # options -> TrainingArguments fields
    check: Callable[[dict[str, Any]], None] | None = None  # backend checks before any model is built
    adapter: bool = False  # saves an adapter apart from the base model
    # Recipe fields that suit the method (a layer above the model alias's, below a recipe file and --set): methods
    # that train few parameters want larger learning rates.
    recipe: Mapping[str, Any] = field(default_factory=dict)
    loss: bool = False  # shapes the loss (distillation: the Trainer adds the teacher's soft targets)
    # Saves the trained model apart from its base: (model, folder, base model path). None: ``save_pretrained``
    # (a full model, or peft's adapter).
    save: Callable[[Any, Any, str], None] | None = None


METHODS: Registry[Method] = Registry("method")


def fail(message: str, hint: str, field_name: str = "--method") -> BenchkitError:
    return BenchkitError(Problem(message, field=field_name, hint=hint))


# --- which modules are the task head (they always train) ----------------------------------------------------------

def head_modules(model: Any) -> list[str]:
    """Top-level modules of a task model other than its pretrained encoder: the classifier (and its dropout) of the
    HF *For* models, the span head's classifier."""
    if type(model).__name__.endswith(("ForCausalLM", "LMHeadModel")):
        return []  # a language model's own head is pretrained (the SFT objective): nothing new to train in full
    base = getattr(model, "base_model_prefix", None) or "encoder"
    return [name for name, child in model.named_children()
            if name != base and any(True for _ in child.parameters())]


def linear_names(model: Any) -> list[str]:
    """The distinct last-part names of the model's Linear layers (what LoRA target_modules match)."""
    import torch

    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, torch.nn.Linear)})


# LoRA targets per architecture (LoRA paper: query and value), where peft has no default for the model type.
LORA_TARGETS = {"bert": ["query", "value"], "roberta": ["query", "value"], "xlm-roberta": ["query", "value"],
                "electra": ["query", "value"], "albert": ["query", "value"], "camembert": ["query", "value"],
                "distilbert": ["q_lin", "v_lin"], "deberta-v2": ["query_proj", "value_proj"],
                "deberta": ["in_proj"], "mpnet": ["q", "v"]}


def _peft_targets(model_type: str, mapping: str) -> list[str] | None:
    """peft's own default target modules for a model type (Llama, Mistral, Qwen2: q_proj and v_proj; GPT-2:
    c_attn), where ours have none."""
    try:
        from peft.utils import constants
    except ImportError:
        return None
    found = getattr(constants, mapping, {}).get(model_type)
    return list(found) if found else None


def _targets(model: Any, given: list[str] | None, method: str) -> list[str]:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    targets = list(given) if given else (LORA_TARGETS.get(model_type or "") or
                                         _peft_targets(model_type or "", "TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING"))
    have = linear_names(model)
    if not targets:
        raise fail(f"{method}: no default target modules for model type {model_type!r}",
                   f"set {method}.target_modules, e.g. --set '{method}.target_modules=[{have[0]}]'; the model's "
                   f"Linear modules: {', '.join(have)}", f"{method}.target_modules")
    absent = [t for t in targets if t not in have and not any(n.endswith("." + t) or n == t
                                                              for n, _ in model.named_modules())]
    if absent:
        raise fail(f"{method}: target module(s) {absent} are not in the model",
                   f"its Linear modules are: {', '.join(have)}", f"{method}.target_modules")
    return targets


def _peft(model: Any, config: Any) -> Any:
    from peft import get_peft_model

    return get_peft_model(model, config)


def _lora(model: Any, options: dict[str, Any]) -> Any:
    from peft import LoraConfig

    targets = _targets(model, options.get("target_modules"), "lora")
    config = LoraConfig(r=int(options["r"]), lora_alpha=float(options["alpha"]), lora_dropout=float(options["dropout"]),
                        target_modules=targets, modules_to_save=head_modules(model), bias="none")
    return _peft(model, config)


IA3_TARGETS = {"bert": (["key", "value", "output.dense"], ["output.dense"]),
               "roberta": (["key", "value", "output.dense"], ["output.dense"]),
               "xlm-roberta": (["key", "value", "output.dense"], ["output.dense"]),
               "distilbert": (["k_lin", "v_lin", "lin2"], ["lin2"])}


def _ia3_defaults(model_type: str) -> tuple[list[str] | None, list[str] | None]:
    """Our IA3 targets for encoders, else peft's (Llama: k_proj, v_proj, down_proj; feed-forward down_proj)."""
    if model_type in IA3_TARGETS:
        return IA3_TARGETS[model_type]
    targets = _peft_targets(model_type, "TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING")
    feedforward = _peft_targets(model_type, "TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING")
    return (targets, feedforward or []) if targets else (None, None)


def _ia3(model: Any, options: dict[str, Any]) -> Any:
    from peft import IA3Config

    model_type = getattr(model.config, "model_type", "")
    targets, feedforward = _ia3_defaults(model_type)
    if options.get("target_modules"):
        targets, feedforward = options["target_modules"], options.get("feedforward_modules") or []
    if not targets:
        raise fail(f"ia3: no default target modules for model type {model_type!r}",
                   f"set ia3.target_modules and ia3.feedforward_modules; the model's Linear modules: "
                   f"{', '.join(linear_names(model))}", "ia3.target_modules")
    _targets(model, [t.rsplit(".", 1)[-1] for t in targets], "ia3")
    config = IA3Config(target_modules=targets, feedforward_modules=feedforward, modules_to_save=head_modules(model))
    return _peft(model, config)


def _prompt(model: Any, options: dict[str, Any]) -> Any:
    """Prompt tuning (Lester et al. 2021): trained soft-prompt vectors before the input, through peft (sequence
    classification and regression heads; peft's prefix tuning needs past key values, which transformers 5's encoders
    no longer take)."""
    from peft import PromptTuningConfig

    if not head_modules(model):
        raise fail("prompt tuning trains a classification or regression head; this model has none (objective sft)",
                   "use lora, ia3 or full with objective sft, or objective classifier with prompt tuning")
    return _peft(model, PromptTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=int(options["num_virtual_tokens"])))


def _prefix(model: Any, options: dict[str, Any]) -> Any:
    from benchkit.train.prefix import add_prefix

    return add_prefix(model, int(options["num_virtual_tokens"]), bool(options["projection"]),
                      int(options["projection_hidden"]), head_modules(model))


def _prefix_save(model: Any, folder: Any, base: str) -> None:
    from benchkit.train.prefix import save

    save(model, folder, base)


def _bitfit(model: Any, options: dict[str, Any]) -> Any:
    """BitFit (Ben Zaken et al. 2022): only the bias terms of the encoder train, plus the task head."""
    heads = tuple(f"{h}." for h in head_modules(model))
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.endswith(".bias") or name.startswith(heads)
    if not any(p.requires_grad for p in model.parameters()):
        raise fail(f"bitfit: {type(model).__name__} has no bias terms and no new head, so nothing would train",
                   "use lora, ia3 or full for this model")
    return model


def _needs(module: str, install: str, what: str) -> Callable[[dict[str, Any]], None]:
    def check(_options: dict[str, Any]) -> None:
        import importlib.util

        if importlib.util.find_spec(module) is None:
            raise fail(f"{what} needs the package {module}, which is not installed", f"pip install {install}")
    return check


def _adamw8bit(options: dict[str, Any]) -> dict[str, Any]:
    return {"optim": "adamw_bnb_8bit"}


def _galore(options: dict[str, Any]) -> dict[str, Any]:
    targets = options.get("target_modules") or [r".*attention.*", r".*intermediate.*", r".*output.*"]
    return {"optim": "galore_adamw_8bit" if options.get("eight_bit") else "galore_adamw",
            "optim_target_modules": targets,
            "optim_args": f"rank={int(options['rank'])}, update_proj_gap={int(options['update_proj_gap'])}, "
                          f"scale={float(options['scale'])}, proj_type={options['proj_type']}"}


def _galore_check(options: dict[str, Any]) -> None:
    _needs("galore_torch", "galore-torch", "galore")(options)
    if options.get("eight_bit"):
        import torch

        if not torch.cuda.is_available():
            raise fail("galore with eight_bit needs CUDA (galore-torch's 8-bit variant runs on GPUs only)",
                       "drop galore.eight_bit, or run on a GPU", "galore.eight_bit")
        _needs("bitsandbytes", "bitsandbytes", "galore with eight_bit")(options)


def _distill_check(options: dict[str, Any]) -> None:
    from pathlib import Path

    teacher = options.get("teacher")
    if not teacher:
        raise fail("distill needs a teacher", "--set distill.teacher=<a finished run folder of the same task, or a "
                                              "model folder>", "distill.teacher")
    if not Path(str(teacher)).expanduser().exists():
        raise fail(f"distill.teacher: {teacher} does not exist", "pass a run folder (<out>/runs/...) or a model folder",
                   "distill.teacher")
    if not 0 <= float(options["weight"]) <= 1 or float(options["temperature"]) <= 0:
        raise fail("distill.weight must be in [0, 1] and distill.temperature above 0",
                   "e.g. --set distill.temperature=2 --set distill.weight=0.5", "distill.weight")


for _method in (
    Method("full", "full fine-tuning: every parameter trains"),
    Method("lora", "LoRA (Hu et al. 2022): low-rank updates of the target Linear layers, through peft; the head trains",
           {"r": 8, "alpha": 16, "dropout": 0.1, "target_modules": None}, prepare=_lora,
           check=_needs("peft", "peft", "lora"), adapter=True,
           recipe={"learning_rate": 5e-4}),  # the LoRA paper's RoBERTa-base GLUE rates are 4e-4 to 5e-4
    Method("ia3", "IA3 (Liu et al. 2022): learned rescaling of keys, values and feed-forward activations, through peft",
           {"target_modules": None, "feedforward_modules": None}, prepare=_ia3, check=_needs("peft", "peft", "ia3"),
           adapter=True, recipe={"learning_rate": 3e-3}),  # T-Few's IA3 rate
    Method("prompt", "prompt tuning (Lester et al. 2021): soft-prompt vectors before the input and the head train, "
                     "through peft (classification and regression tasks)",
           {"num_virtual_tokens": 20}, prepare=_prompt, check=_needs("peft", "peft", "prompt"), adapter=True,
           recipe={"learning_rate": 1e-2}),  # soft prompts train at rates far above full fine-tuning
    Method("prefix", "prefix tuning (Li & Liang 2021; P-tuning v2): trained key and value vectors before the input in "
                     "every attention layer, and the head (through transformers' attention interface)",
           {"num_virtual_tokens": 20, "projection": False, "projection_hidden": 512}, prepare=_prefix, adapter=True,
           save=_prefix_save, recipe={"learning_rate": 5e-3}),  # P-tuning v2's GLUE rates: 5e-3 to 1e-2
    Method("bitfit", "BitFit (Ben Zaken et al. 2022): bias terms and the task head train, nothing else",
           prepare=_bitfit, recipe={"learning_rate": 1e-3}),  # the BitFit paper searches 1e-4 to 1e-3
    Method("adamw8bit", "8-bit AdamW (Dettmers et al. 2022, bitsandbytes): optimizer states in 8 bits",
           training_args=_adamw8bit, check=_needs("bitsandbytes", "bitsandbytes", "adamw8bit")),
    Method("distill", "knowledge distillation (Hinton et al. 2015): gold labels plus a teacher's soft targets",
           {"teacher": None, "temperature": 2.0, "weight": 0.5}, check=_distill_check, loss=True),
    Method("galore", "GaLore (Zhao et al. 2024, galore-torch): gradients projected to a low rank in AdamW",
           {"rank": 128, "update_proj_gap": 200, "scale": 0.25, "proj_type": "std", "target_modules": None,
            "eight_bit": False}, training_args=_galore, check=_galore_check),
):
    METHODS.add(_method.name, _method, aliases=("full-ft",) if _method.name == "full" else ())


@dataclass(frozen=True)
class MethodSpec:
    """A method as a run uses it: its components (``lora+adamw8bit``) and each one's options, defaults filled in."""

    name: str  # canonical, components joined by "+"
    options: dict[str, dict[str, Any]]  # component -> options

    @property
    def components(self) -> list[Method]:
        return [METHODS.get(n) for n in self.name.split("+")]

    def flat_options(self) -> dict[str, Any]:
        """``{"lora.r": 8, ...}``: what records and hashes carry."""
        return {f"{c}.{k}": v for c, opts in sorted(self.options.items()) for k, v in sorted(opts.items())}


def method_spec(name: str, given: Mapping[str, Any] | None = None) -> MethodSpec:
    """Parse ``name`` (``lora`` or ``lora+adamw8bit``) and check ``given`` (``{"lora.r": 8}``) against the options of
    its components."""
    parts = [METHODS.canonical(p.strip()) for p in name.split("+") if p.strip()]
    if not parts:
        raise fail("no method given", f"one of: {', '.join(METHODS.names())}")
    components = [METHODS.get(p) for p in parts]
    shaping = [c.name for c in components if c.prepare is not None]
    optimizing = [c.name for c in components if c.training_args is not None]
    losses = [c.name for c in components if c.loss]
    if len(shaping) > 1 or len(optimizing) > 1 or len(losses) > 1 or len(set(parts)) != len(parts):
        raise fail(f"methods {parts} cannot be combined", "combine at most one method that shapes the model (lora, "
                                                          "ia3, prompt, prefix, bitfit) with one that shapes the optimizer "
                                                          "(adamw8bit, galore) and distill")
    options = {c.name: dict(c.options) for c in components}
    for key, value in (given or {}).items():
        owner, _, option = key.partition(".")
        owner = METHODS.canonical(owner) if owner in METHODS else owner
        if owner not in options:
            raise fail(f"option '{key}' is for method '{owner}', which this run does not use ({'+'.join(parts)})",
                       f"add it: --method {'+'.join(parts)}+{owner}" if owner in METHODS
                       else did_you_mean(owner, list(options)) or f"methods: {', '.join(parts)}", key)
        if option not in options[owner]:
            known = list(options[owner])
            raise fail(f"method '{owner}' takes no option '{option}'",
                       did_you_mean(option, known) or (f"its options: {', '.join(known)}" if known
                                                       else f"{owner} takes no options"), key)
        options[owner][option] = value
    for component in components:
        if component.check is not None:
            component.check(options[component.name])
    return MethodSpec("+".join(parts), {c: o for c, o in options.items() if o})


def preflight(spec: MethodSpec, model_path: str, card: Any = None, recipe: Any = None) -> None:
    """Before any training: the model-shaping methods' target modules against the model's architecture, built on the
    meta device from its config (no weights are read); a distillation teacher against the task; what a decoder-only
    model cannot train, and the SFT objective's needs (``recipe``: its ``objective``)."""
    sft = (recipe.get("objective") if isinstance(recipe, dict) else getattr(recipe, "objective", None)) == "sft"
    if card is not None:
        from benchkit.task_types import TASK_TYPES
        from benchkit.train.decoders import check_head, check_sft

        if sft:
            check_sft(card, model_path)
            if any(c.name in ("prompt", "prefix", "distill") for c in spec.components):
                raise fail(f"objective sft cannot train with {spec.name}", "use lora, ia3 or full with objective sft")
        else:
            check_head(model_path, TASK_TYPES.get(card.type).head_name, card.id)  # what a causal model cannot train
    if any(c.name == "prompt" for c in spec.components) and card is not None:
        from benchkit.task_types import TASK_TYPES

        head = TASK_TYPES.get(card.type).head_name
        if head not in ("class", "number"):
            raise fail(f"prompt tuning is for classification and regression heads; {card.id} uses the {head} head",
                       "use lora, ia3 or bitfit for this task", "--method")
    if "distill" in spec.options and card is not None:
        from benchkit.train.distill import check_teacher

        check_teacher(str(spec.options["distill"]["teacher"]), card)
    targeted = [c for c in spec.components if c.name in ("lora", "ia3")]
    prefixed = "prefix" in spec.options or any(c.name == "prefix" for c in spec.components)
    if not targeted and not prefixed:
        return
    import torch
    from transformers import AutoConfig, AutoModel

    with torch.device("meta"):
        model = AutoModel.from_config(AutoConfig.from_pretrained(model_path))
    if prefixed:
        from benchkit.train.prefix import supported

        reason = supported(model)
        if reason:
            raise fail(f"prefix tuning cannot apply to {model_path}: {reason}",
                       "use lora, ia3 or bitfit with this model, or a BERT-like model (bert, roberta, xlm-roberta, "
                       "electra)", "--method")
    for component in targeted:
        options = spec.options.get(component.name, {})
        if component.name == "lora" or options.get("target_modules"):
            _targets(model, options.get("target_modules"), component.name)
        else:
            _targets(model, [t.rsplit(".", 1)[-1] for t in _ia3_defaults(model.config.model_type)[0] or []]
                     or None, component.name)


def method_recipe(spec: MethodSpec) -> dict[str, Any]:
    """The recipe layer of the method (its model-shaping component's)."""
    out: dict[str, Any] = {}
    for component in spec.components:
        out.update(component.recipe)
    return out


def prepare_model(spec: MethodSpec, model: Any) -> Any:
    for component in spec.components:
        if component.prepare is not None:
            model = component.prepare(model, spec.options.get(component.name, {}))
    return model


def training_args(spec: MethodSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for component in spec.components:
        if component.training_args is not None:
            out.update(component.training_args(spec.options.get(component.name, {})))
    return out


def saves_adapter(spec: MethodSpec) -> bool:
    return any(c.adapter for c in spec.components)


def save_trained(spec: MethodSpec, model: Any, folder: Any, base: str) -> None:
    """The trained model into ``folder``: the method's own saving (apart from the base model), else
    ``save_pretrained`` (a full model, or peft's adapter)."""
    saver = next((c.save for c in spec.components if c.save is not None), None)
    if saver is not None:
        saver(getattr(model, "inner", model), folder, base)  # a head's wrapper (windows) holds the model as .inner
    else:
        model.save_pretrained(str(folder))
