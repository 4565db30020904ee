"""benchkit: a language-agnostic benchmark construction kit."""

__version__ = "0.1.0"
