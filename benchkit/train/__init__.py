"""Fine-tuning: recipes, models, heads, methods, tokenization cache, the training loop and run records.

Everything here imports torch/transformers lazily, inside functions, so the CLI stays fast.
"""

import logging

# transformers imports peft, which imports bitsandbytes, whose CPU backend warns on every run that an optional 4-bit
# kernel package ('kernels') is missing: no method here uses that kernel, and the line only confuses.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
