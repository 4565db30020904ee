"""Fine-tuning: recipes, models, heads, methods, tokenization cache, the training loop and run records.

Everything here imports torch/transformers lazily, inside functions, so the CLI stays fast.
"""
