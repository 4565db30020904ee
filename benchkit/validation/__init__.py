"""Data validation: pandera schemas derived from a card (per split) and cross-split checks."""
