"""benchkit metrics: one ``METRICS`` registry of official metric definitions, validated by ``compute_metric``.

Importing this package is cheap (numpy only); scipy and seqeval load on the first correlation / tagging call.
Values are on the [0, 1] scale; labels are official label strings.
"""

from benchkit.metrics.base import (
    INPUT_KINDS,
    METRICS,
    OPTION_CHECKS,
    AdditiveStats,
    InputKind,
    InputKindSpec,
    Metric,
    UndefinedMetricWarning,
    compute_metric,
)

# Each family registers its metrics into METRICS at import.
from benchkit.metrics import classification, diagnostics, klej, reading_comprehension, regression, tagging  # noqa: E402,F401
from benchkit.metrics.reading_comprehension import NORMALIZERS, squad_normalize  # noqa: E402
from benchkit.metrics.tagging import TAG_SCHEMES, TagScheme  # noqa: E402

__all__ = [
    "AdditiveStats",
    "INPUT_KINDS",
    "METRICS",
    "NORMALIZERS",
    "OPTION_CHECKS",
    "TAG_SCHEMES",
    "InputKind",
    "InputKindSpec",
    "Metric",
    "TagScheme",
    "UndefinedMetricWarning",
    "compute_metric",
    "squad_normalize",
]
