"""Fine-tuning (L4): one run, from its spec to its record. Imports nothing above it (execute, search, release, cli).

``spec`` (RunSpec) -> ``loop`` (run_one, step by step) over ``recipes``, ``models`` (aliases, ``models.yaml``),
``heads`` (with ``windows``, ``span_model``), ``methods`` (with ``adapters``, ``prefix``, ``distill``), ``features``
(tokenization cache), ``frames`` (the grid's data, read once), ``selection`` (checkpoint selection), ``pruning``
(a search trial stopping itself), ``checkpoints``, ``costs``, ``memory``, ``distributed``, ``lengths``,
``tokenizer_check``; ``inference`` predicts in file order and loads trained models back (the loop, distillation's
teacher, ``benchkit predict``).

Everything here imports torch/transformers lazily, inside functions, so the CLI stays fast.
"""

import logging

# transformers imports peft, which imports bitsandbytes, whose CPU backend warns on every run that an optional 4-bit
# kernel package ('kernels') is missing: no method here uses that kernel, and the line only confuses.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
