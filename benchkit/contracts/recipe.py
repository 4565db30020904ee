"""L0 contract: the recipe fields (hyperparameters as data). Cards (``recipe:``), recipe files, search spaces, the
run plan and the DVC pipeline all name these fields; the layering of values lives in ``benchkit.train.recipes``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_rate: float = Field(2e-5, gt=0)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int | None = Field(None, ge=1)  # None: 2x batch_size on CPU, 8x on a GPU (sorted by length)
    epochs: float = Field(3.0, gt=0)
    max_length: int = Field(128, ge=8)
    # Tagging tasks: a document longer than max_length (the window) is read in windows that overlap by this many
    # tokens, and each word takes the prediction of the window where it has the most context (train/windows.py).
    window_stride: int = Field(32, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0)
    lr_scheduler: str = "linear"
    max_grad_norm: float = Field(1.0, gt=0)
    gradient_accumulation: int = Field(1, ge=1)
    # Which checkpoint a run reports. "best": evaluate after each epoch (or every checkpoint_steps) on the selection
    # split and keep the best; "last": keep the last. The selection split is by default a holdout carved from train
    # (stratified, seeded), so the reported dev score was not tuned on dev; select_on "dev" is allowed and is
    # labelled "selected on dev" wherever its scores appear.
    select: Literal["best", "last"] = "best"
    select_on: Literal["holdout", "dev"] = "holdout"
    holdout_fraction: float = Field(0.1, gt=0, lt=0.5)
    holdout_seed: int = 0
    # Checkpoints (for resuming an interrupted run, and the points "best" chooses among): every epoch, or every
    # N optimizer steps when set.
    checkpoint_steps: int | None = Field(None, ge=1)
    early_stopping_patience: int | None = Field(None, ge=1)
    max_train_samples: int | None = Field(None, ge=1)
    group_by_length: bool = True  # length-grouped batches (with dynamic padding: fewer pad tokens)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16 on a GPU that supports it, else fp32
    bootstrap_resamples: int = Field(1000, ge=0)
    # Keep the run's final model (weights + tokenizer) in <run folder>/model/, so evaluation-only suites (AdvGLUE) can
    # predict with it later. Not part of a run's identity (execute.plan.config_hash leaves it out): switching it
    # re-runs nothing.
    save_model: bool = True
    # Generative language models (benchkit/train/prompted.py). shots: the few-shot k (None: the card's prompt says);
    # chat_template: wrap each prompt in the tokenizer's chat template when it has one ("auto"), always ("on": an
    # error when it has none) or never ("off"); objective: how a decoder-only model is fine-tuned (a classifier on
    # the last token, or "sft": it learns to write the label's verbaliser).
    shots: int | None = Field(None, ge=0)
    chat_template: Literal["auto", "on", "off"] = "auto"
    objective: Literal["classifier", "sft"] = "classifier"
    backend: Literal["transformers", "vllm"] = "transformers"  # the engine a prompted run asks the model through

    @field_validator("chat_template", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        """YAML reads on/off (--set chat_template=off) as booleans."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @model_validator(mode="after")
    def _window_fits(self) -> "Recipe":
        if self.window_stride >= self.max_length - 2:
            raise ValueError(f"window_stride {self.window_stride} must be below max_length - 2 "
                             f"({self.max_length - 2}): windows of max_length tokens overlap by window_stride")
        return self


# Recipe fields that do not change a run's result, left out of its configuration hash.
NOT_HASHED = frozenset({"save_model"})
# Fields added after runs were first recorded: hashed only when set away from their default, so adding them kept
# every earlier run's identity (a results folder resumes, it does not retrain).
HASHED_WHEN_SET = frozenset({"shots", "chat_template", "objective", "backend"})


def hashed_recipe(recipe: Recipe) -> dict[str, object]:
    """The recipe's part of a run's identity."""
    values = recipe.model_dump(exclude=set(NOT_HASHED))
    return {k: v for k, v in values.items()
            if k not in HASHED_WHEN_SET or v != Recipe.model_fields[k].default}


RECIPE_FIELDS = tuple(Recipe.model_fields)
