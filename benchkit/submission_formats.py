"""Official test-submission layouts, by name. Suite cards name one; the release writes it.

Each entry records the layout facts from the benchmark's own tooling (see docs/architecture.md);
the writers that produce the archives are attached to these entries by the release module.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchkit.registry import Registry


@dataclass(frozen=True)
class SubmissionFormat:
    name: str
    archive: str
    file_pattern: str
    layout: str


SUBMISSION_FORMATS: Registry[SubmissionFormat] = Registry("submission format")

for _entry in (
    SubmissionFormat("glue", "zip", "{Task}.tsv (CoLA.tsv, ..., MNLI-m.tsv, MNLI-mm.tsv, AX.tsv)",
                     "header 'index<TAB>prediction'; 0/1 for CoLA/SST-2/MRPC/QQP/WNLI, label strings for NLI, "
                     "STS-B rounded to 3 decimals and clipped to [0, 5]"),
    SubmissionFormat("superglue", "zip", "{Task}.jsonl (BoolQ.jsonl, ..., AX-b.jsonl, AX-g.jsonl)",
                     '{"idx": int, "label": value} per line; MultiRC nested per paragraph; ReCoRD one line per query'),
    SubmissionFormat("klej", "zip", "test_pred_{task}.tsv",
                     "one column with header 'target', original label strings, rows in test_features.tsv order"),
    SubmissionFormat("lepiszcze", "json", "{dataset}_{model}.json",
                     "submission JSON with metrics_avg/metrics_std over runs, opened as a PR"),
):
    SUBMISSION_FORMATS.add(_entry.name, _entry)
