"""Fine-tuning methods as data: every method trains end to end on CPU with the tiny model in one grid
(``--method full,lora,ia3,bitfit,adamw8bit,galore,lora+adamw8bit``), records carry their options and measured costs,
LoRA's and BitFit's trainable parameters match their definitions, adapters are saved apart and load back, and bad
method input is one line before any training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from release_helpers import invoke

# one pytest-xdist worker runs this module's tests, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("methods")

METHODS = ("full", "lora", "ia3", "prompt", "prefix", "bitfit", "adamw8bit", "galore", "lora+adamw8bit")
TINY = ("--set", "epochs=1", "--set", "max_train_samples=48", "--set", "bootstrap_resamples=0", "--set", "select=last",
        "--set", "max_length=64")



@pytest.fixture(scope="module")
def grid(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    pytest.importorskip("peft")
    out = tmp_path_factory.mktemp("methods")
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--method",
                    ",".join(METHODS), "--set", "galore.rank=4", *TINY, "--out", out, "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    records = {}
    for path in out.glob("runs/**/record.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        record["_folder"] = path.parent
        records[record["method"]["name"]] = record
    return records


def test_every_method_trains_and_records_its_costs(grid: dict[str, dict[str, Any]]) -> None:
    assert sorted(grid) == sorted(METHODS)
    for name, record in grid.items():
        costs = record["costs"]
        assert costs["trainable_parameters"] > 0 and costs["total_parameters"] >= costs["trainable_parameters"]
        assert costs["optimizer_state_bytes"] > 0 and costs["peak_memory_bytes"] > 0, name
        assert costs["inference_ms_per_example"] > 0 and costs["inference_batch_size"] == 32, name
        assert costs["train_seconds"] > 0 and costs["train_samples_per_second"] > 0
        assert set(record["results"]) == {"dev"}
    assert grid["adamw8bit"]["provenance"]["hardware"]["optimizer"] == "adamw_bnb_8bit"
    assert grid["lora+adamw8bit"]["provenance"]["hardware"]["optimizer"] == "adamw_bnb_8bit"
    assert grid["galore"]["provenance"]["hardware"]["optimizer"] == "galore_adamw"
    assert grid["galore"]["method"]["options"]["galore.rank"] == 4  # the given option, the defaults beside it
    assert grid["galore"]["method"]["options"]["galore.update_proj_gap"] == 200
    # AdamW keeps two fp32 moments per trained weight (and a 4-byte step per tensor); LoRA trains 2k weights, not 1M
    full = grid["full"]["costs"]
    moments = 2 * 4 * full["trainable_parameters"]
    assert moments < full["optimizer_state_bytes"] <= moments + 4 * 100
    assert grid["lora"]["costs"]["optimizer_state_bytes"] < full["optimizer_state_bytes"] / 100


def test_lora_trains_the_formula_and_bitfit_the_biases_and_head(grid: dict[str, dict[str, Any]],
                                                                tiny_model: Path) -> None:
    config = json.loads((tiny_model / "config.json").read_text())
    hidden, layers, labels = config["hidden_size"], config["num_hidden_layers"], 2
    head = hidden * labels + labels  # the classifier's weight and bias, which always train
    r = grid["lora"]["method"]["options"]["lora.r"]
    # query and value (the LoRA paper's default for BERT) in every layer: A is r x in, B is out x r
    assert grid["lora"]["costs"]["trainable_parameters"] == layers * 2 * r * (hidden + hidden) + head
    # prompt tuning: one trained vector per virtual token, and the head
    virtual = grid["prompt"]["method"]["options"]["prompt.num_virtual_tokens"]
    assert grid["prompt"]["costs"]["trainable_parameters"] == virtual * hidden + head
    # prefix tuning: per layer, a key and a value vector (hidden wide, all heads) per virtual token, and the head
    prefixes = grid["prefix"]["method"]["options"]["prefix.num_virtual_tokens"]
    assert grid["prefix"]["costs"]["trainable_parameters"] == layers * 2 * prefixes * hidden + head
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_model), num_labels=labels)
    biases = sum(p.numel() for n, p in model.named_parameters() if n.endswith(".bias") and not n.startswith("classifier"))
    assert grid["bitfit"]["costs"]["trainable_parameters"] == biases + head
    assert grid["full"]["costs"]["trainable_parameters"] == sum(p.numel() for p in model.parameters())
    del torch


def test_the_lora_adapter_is_saved_apart_and_loads_back(grid: dict[str, dict[str, Any]], tiny_model: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from conftest import REPO

    from benchkit.validation.frames import load_frames

    folder = grid["lora"]["_folder"] / grid["lora"]["model_dir"]
    assert (folder / "adapter_model.safetensors").is_file() and (folder / "adapter_config.json").is_file()
    assert not (folder / "model.safetensors").exists()  # the base model is not copied
    labels = ["negative", "positive"]
    base = AutoModelForSequenceClassification.from_pretrained(
        str(tiny_model), num_labels=2, id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    model = PeftModel.from_pretrained(base, str(folder)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    from benchkit.cards.catalog import load_task

    dev = load_frames(load_task("glue-mini/sst2"), REPO / "data" / "glue-mini", ["dev"])["dev"]
    encoded = tokenizer(list(dev["text"]), truncation=True, max_length=64, padding=True, return_tensors="pt")
    with torch.no_grad():
        predicted = [labels[i] for i in model(**encoded).logits.argmax(-1).tolist()]
    saved = {json.loads(line)["id"]: json.loads(line)["prediction"]
             for line in (grid["lora"]["_folder"] / "predictions" / "dev.jsonl").read_text().splitlines()}
    assert predicted == [saved[str(i)] for i in dev["id"]]


def test_method_options_are_part_of_the_configuration(tiny_model: Path, tmp_path: Path) -> None:
    from benchkit.cards.catalog import load_suite
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.train.models import resolve_model

    suite = load_suite("glue-mini")
    sst2 = [t for t in suite.tasks if t.id == "glue-mini/sst2"]
    model = resolve_model(str(tiny_model))

    def plan(options: dict[str, Any]) -> Any:
        from conftest import REPO

        (spec,) = build_plan(suite, sst2, [model], [1], "lora", RecipeLayers({}, {}), REPO / "data" / "glue-mini",
                             tmp_path, method_options=options)
        return spec

    default, rank4 = plan({}), plan({"lora.r": 4})
    assert default.method_options["lora.r"] == 8 and rank4.method_options["lora.r"] == 4
    assert default.config_hash != rank4.config_hash and default.folder != rank4.folder
    # the method's recipe layer: LoRA trains few weights at a larger rate
    assert default.recipe.learning_rate == 5e-4 and default.recipe_sources["learning_rate"] == "method:lora"


@pytest.mark.parametrize(("args", "error"), [
    (("--method", "lora", "--set", "lora.alpah=32"),
     "error: lora.alpah: method 'lora' takes no option 'alpah' (hint: did you mean 'alpha'?)"),
    (("--method", "lora", "--set", "lora.target_modules=[q_proj]"),
     "error: lora.target_modules: lora: target module(s) ['q_proj'] are not in the model (hint: its Linear modules "
     "are: dense, key, query, value)"),
    (("--method", "full", "--set", "lora.r=4"),
     "error: lora.r: option 'lora.r' is for method 'lora', which no run uses (hint: add it to --method (e.g. "
     "--method full,lora))"),
    (("--method", "lora+bitfit"),
     "error: --method: methods ['lora', 'bitfit'] cannot be combined (hint: combine at most one method that shapes "
     "the model (lora, ia3, prompt, prefix, bitfit) with one that shapes the optimizer (adamw8bit, galore) and distill)"),
    (("--method", "galore", "--set", "galore.eight_bit=true"),
     "error: galore.eight_bit: galore with eight_bit needs CUDA (galore-torch's 8-bit variant runs on GPUs only) "
     "(hint: drop galore.eight_bit, or run on a GPU)"),
    (("--method", "lroa"),
     "error: unknown method 'lroa'; expected one of: adamw8bit, bitfit, distill, full, galore, ia3, lora, prefix, prompt (hint: did you mean "
     "'lora'?)"),
])
def test_bad_method_input_is_one_line_before_training(args: tuple[str, ...], error: str, tiny_model: Path,
                                                       tmp_path: Path) -> None:
    import torch

    if "eight_bit" in " ".join(args) and torch.cuda.is_available():
        pytest.skip("on a GPU galore's 8-bit variant runs")
    out = tmp_path / "out"
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, *args, *TINY,
                    "--out", out, "--quiet", "--no-release")
    assert result.exit_code == 2, result.output
    assert [line for line in result.stderr.splitlines() if line.strip()] == [error]
    assert not out.exists()  # nothing trained, nothing written


def test_prefix_tuning_on_a_model_without_the_attention_interface_is_refused(tmp_path: Path) -> None:
    import transformers

    from conftest import minilm_folder

    folder = tmp_path / "tiny-distilbert"  # DistilBERT's attention does not go through transformers' interface
    transformers.DistilBertModel(transformers.DistilBertConfig(vocab_size=30522, dim=32, n_layers=1, n_heads=2,
                                                               hidden_dim=64)).save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(str(minilm_folder())).save_pretrained(folder)
    out = tmp_path / "out"
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", folder, "--method", "prefix", *TINY,
                    "--out", out, "--quiet", "--no-release")
    assert result.exit_code == 2, result.output
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"error: --method: prefix tuning cannot apply to {folder}: model type 'distilbert' has no self-attention that "
        "goes through transformers' attention interface (hint: use lora, ia3 or bitfit with this model, or a "
        "BERT-like model (bert, roberta, xlm-roberta, electra))"]
    assert not out.exists()


def test_the_release_ranks_methods_with_their_costs(grid: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    import shutil

    runs = next(iter(grid.values()))["_folder"]
    while runs.name != "runs":
        runs = runs.parent
    shutil.copytree(runs, tmp_path / "runs")
    result = invoke("release", "glue-mini", "--version", "1.0.0", "--runs", tmp_path, "--resamples", "0",
                    "--no-submissions")
    assert result.exit_code == 0, result.output
    board = (tmp_path / "releases" / "glue-mini" / "1.0.0" / "leaderboard.md").read_text(encoding="utf-8")
    header = next(line for line in board.splitlines() if line.startswith("| # |"))
    for column in ("method", "trainable params", "peak memory", "training time", "optimizer state",
                   "latency / example"):
        assert f" {column} |" in header
    rows = [line for line in board.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert sorted(line.split(" | ")[2] for line in rows) == sorted(METHODS)


def test_the_prefix_is_saved_apart_and_predicts_what_the_run_did(grid: dict[str, dict[str, Any]]) -> None:
    folder = grid["prefix"]["_folder"] / grid["prefix"]["model_dir"]
    assert {"prefix_config.json", "prefix_model.safetensors", "config.json"} <= {p.name for p in folder.iterdir()}
    assert not (folder / "model.safetensors").exists()  # the base model is not copied


def test_prefix_tuning_matches_attention_over_the_prefixed_keys() -> None:
    """The prefix enters every layer's attention: with the prefix keys and values prepended by hand to an eager
    attention, the layer's output is the same; padding after the input changes nothing."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from benchkit.train.prefix import add_prefix

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    model = add_prefix(BertForSequenceClassification(config).eval(), 3, train_only=["classifier"])
    with torch.no_grad():
        model.benchkit_prefix.embedding.weight.normal_()
    ids = torch.tensor([[5, 6, 7, 8, 0, 0]])
    padded = model(input_ids=ids, attention_mask=torch.tensor([[1, 1, 1, 1, 0, 0]])).logits
    assert torch.allclose(padded, model(input_ids=ids[:, :4]).logits, atol=1e-5)
    # by hand: layer 0's self-attention over [prefix keys; input keys]
    attention = model.bert.encoder.layer[0].attention.self
    hidden = model.bert.embeddings(input_ids=ids[:, :4])
    keys, values = model.benchkit_prefix()[0]  # (heads, tokens, head_dim)
    split = lambda x: x.view(1, 4, 2, 8).transpose(1, 2)  # noqa: E731
    k = torch.cat([keys.unsqueeze(0), split(attention.key(hidden))], dim=2)
    v = torch.cat([values.unsqueeze(0), split(attention.value(hidden))], dim=2)
    weights = torch.softmax(split(attention.query(hidden)) @ k.transpose(-1, -2) / 8 ** 0.5, dim=-1)
    expected = (weights @ v).transpose(1, 2).reshape(1, 4, 16)
    with torch.no_grad():
        assert torch.allclose(attention(hidden)[0], expected, atol=1e-5)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"benchkit_prefix.embedding.weight", "classifier.weight", "classifier.bias"}


@pytest.mark.parametrize("method", ["lora", "prefix", "full"])
def test_predict_labels_a_split_and_a_new_file_in_the_score_format(method: str, grid: dict[str, dict[str, Any]],
                                                                   tmp_path: Path) -> None:
    folder = grid[method]["_folder"]
    out = tmp_path / "dev.jsonl"
    result = invoke("predict", folder, "--split", "dev", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(out.read_text().splitlines()) == sorted((folder / "predictions" / "dev.jsonl").read_text().splitlines())
    scored = invoke("score", "glue-mini/sst2", out, "--split", "dev", "--json", "--resamples", "0")
    assert scored.exit_code == 0, scored.output  # the score format
    assert json.loads(scored.stdout)["metrics"]["accuracy"] == pytest.approx(
        grid[method]["results"]["dev"]["metrics"]["accuracy"])
    new = tmp_path / "new.tsv"
    new.write_text("sentence\tlabel\na wonderful , moving film\t\nan utter failure\t\n", encoding="utf-8")
    labelled = invoke("predict", folder, "--file", new)
    assert labelled.exit_code == 0, labelled.output
    rows = [json.loads(line) for line in labelled.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["0", "1"] and {r["prediction"] for r in rows} <= {"negative", "positive"}


def test_a_distilled_student_names_its_teacher(grid: dict[str, dict[str, Any]], tiny_model: Path,
                                               tmp_path: Path) -> None:
    teacher = grid["full"]["_folder"]
    out = tmp_path / "out"
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--method", "distill",
                    "--set", f"distill.teacher={teacher}", "--set", "distill.temperature=3", *TINY, "--out", out,
                    "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    (path,) = out.glob("runs/**/record.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["method"]["name"] == "distill"
    assert record["method"]["options"] == {"distill.teacher": str(teacher), "distill.temperature": 3,
                                           "distill.weight": 0.5}
    assert record["method"]["teacher"] == {"run": str(teacher.resolve()), "config_hash": grid["full"]["config_hash"],
                                           "model": grid["full"]["model"]["name"]}


def cola_model(grid: dict[str, dict[str, Any]], tmp_path: Path) -> Path:
    """A model folder whose head predicts other labels: the SST-2 run's model saved with CoLA's label names."""
    import shutil

    folder = tmp_path / "cola-model"
    shutil.copytree(grid["full"]["_folder"] / grid["full"]["model_dir"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"], config["label2id"] = {"0": "unacceptable", "1": "acceptable"}, {"unacceptable": 0,
                                                                                        "acceptable": 1}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_a_distilled_student_beats_the_same_model_without_its_teacher_on_noisy_labels(tiny_model: Path,
                                                                                    tmp_path: Path) -> None:
    """The fixture where distillation is expected to help: the student's training labels are 40% flipped (seeded),
    the teacher was trained on the clean labels. Trained on the noisy labels alone the tiny model stays near chance
    (52.5-55.5 dev accuracy over seeds 1-3); with the teacher's soft targets (weight 0.9) it reaches 67.9-70.9,
    close to the teacher's 69.0."""
    import random
    import shutil

    from conftest import REPO

    clean = REPO / "data" / "glue-mini"
    noisy = tmp_path / "noisy"
    shutil.copytree(clean, noisy)
    lines = (clean / "SST-2" / "train.tsv").read_text(encoding="utf-8").splitlines()
    rng = random.Random(0)
    flipped = [lines[0]] + [f"{text}\t{'1' if label == '0' else '0'}" if rng.random() < 0.4 else f"{text}\t{label}"
                            for text, label in (line.rsplit("\t", 1) for line in lines[1:])]
    (noisy / "SST-2" / "train.tsv").write_text("\n".join(flipped) + "\n", encoding="utf-8")
    settings = ("--set", "max_length=64", "--set", "bootstrap_resamples=0", "--set", "select=last",
                "--set", "learning_rate=1e-3", "--set", "epochs=8", "--quiet", "--no-release")

    def dev_accuracy(out: Path, *args: Any) -> tuple[float, dict[str, Any]]:
        result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, *settings, *args,
                        "--out", out)
        assert result.exit_code == 0, result.output
        record = json.loads(next(out.glob("runs/**/record.json")).read_text(encoding="utf-8"))
        return record["results"]["dev"]["metrics"]["accuracy"], record

    teacher, teacher_record = dev_accuracy(tmp_path / "teacher")
    teacher_run = next((tmp_path / "teacher").glob("runs/**/record.json")).parent
    alone, _ = dev_accuracy(tmp_path / "alone", "--data-dir", noisy)
    distilled, record = dev_accuracy(tmp_path / "student", "--data-dir", noisy, "--method", "distill",
                                     "--set", f"distill.teacher={teacher_run}", "--set", "distill.weight=0.9")
    assert alone < 0.6 < teacher
    assert distilled > alone + 0.08  # seeds 1-3 gained 15.4 points on average, 12.4 at least
    assert record["method"]["teacher"]["config_hash"] == teacher_record["config_hash"]


def test_a_teacher_of_another_task_or_label_set_is_refused(grid: dict[str, dict[str, Any]], tiny_model: Path,
                                                           tmp_path: Path) -> None:
    teacher = grid["full"]["_folder"]
    for task, where, expected in (
            ("glue-mini/cola", teacher, f"error: {teacher}: distill.teacher: the teacher run is of task glue-mini/sst2, "
                                        "not glue-mini/cola (hint: distil from a finished run of the same task)"),
            ("glue-mini/sst2", tiny_model, f"error: {tiny_model}: distill.teacher: the teacher folder names no "
                                           "labels: not a model trained on this task (hint: distil from a finished "
                                           "run of this task, or a model folder saved with its label names "
                                           "(id2label))"),
            ("glue-mini/sst2", cola_model(grid, tmp_path),
             f"error: {tmp_path / 'cola-model'}: distill.teacher: the teacher predicts labels ['unacceptable', "
             "'acceptable'], the task has ['negative', 'positive'] (hint: distil from a teacher trained on this "
             "task's label set)")):
        result = invoke("run", "glue-mini", "--task", task, "--model", tiny_model, "--method", "distill",
                        "--set", f"distill.teacher={where}", *TINY, "--out", tmp_path / "out", "--quiet", "--no-release")
        assert result.exit_code == 2, result.output
        assert [line for line in result.stderr.splitlines() if line.strip()] == [expected]
    assert not (tmp_path / "out").exists()


def test_the_distillation_loss() -> None:
    import torch

    from benchkit.train.distill import distillation_loss

    student = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    same = distillation_loss(student, student.clone(), torch.tensor([0, 1]), None, 2.0, 1.0, regression=False)
    assert same.item() == pytest.approx(0.0, abs=1e-6)  # no divergence from itself
    teacher = torch.tensor([[0.0, 2.0], [1.0, 0.0]])
    t = 2.0
    expected = torch.nn.functional.kl_div(torch.log_softmax(student / t, -1), torch.softmax(teacher / t, -1),
                                          reduction="batchmean") * t * t
    hard = torch.tensor(0.7)
    mixed = distillation_loss(student, teacher, torch.tensor([0, 1]), hard, t, 0.25, regression=False)
    assert mixed.item() == pytest.approx(0.75 * 0.7 + 0.25 * expected.item(), rel=1e-5)
    # tags: tokens without a label (-100) are left out of the soft term
    tokens = distillation_loss(student[None], teacher[None], torch.tensor([[0, -100]]), None, t, 1.0, regression=False)
    first = torch.nn.functional.kl_div(torch.log_softmax(student[0] / t, -1), torch.softmax(teacher[0] / t, -1),
                                       reduction="sum") * t * t
    assert tokens.item() == pytest.approx(first.item(), rel=1e-5)


def test_the_release_reads_records_without_training_code() -> None:
    """The run record is the one contract between training and releases: building a release imports no torch,
    transformers or peft, and nothing of benchkit's training package (the record schema is an L0 contract)."""
    import subprocess
    import sys

    code = ("import sys, benchkit.release.build, benchkit.release.submission_writers, benchkit.release.leaderboard; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'peft') "
            "or m.startswith('benchkit.train.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
