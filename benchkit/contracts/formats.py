"""The data formats a card may name, and what a card may say of each: the read options it accepts, and whether it
reads files under the data directory or the Hub.

This is the vocabulary cards are checked against (``benchkit.cards``); the readers that implement each format
(``benchkit.sources``) register against it, and a reader for a format not declared here is an error. A plugin adds
a format by declaring its ``Format`` here (``FORMATS.add``) and registering its reader (``sources.register_reader``).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchkit.registry import Registry


@dataclass(frozen=True)
class Format:
    name: str
    options: frozenset[str]  # the ``read:`` options (cards.schema.ReadOptions fields) this format accepts
    description: str
    local: bool = True  # reads files under the data directory (False: the Hub)


FORMATS: Registry[Format] = Registry("format")

_DELIMITED = frozenset({"header", "columns", "delimiter", "quoting", "quotechar", "encoding", "skip_blank_lines"})

for _format in (
    Format("tsv", _DELIMITED, "tab-separated text; quoting 'none' by default, as GLUE and KLEJ files need"),
    Format("csv", _DELIMITED, "comma-separated text with RFC 4180 quoting"),
    Format("jsonl", frozenset({"encoding", "unnest"}), "JSON Lines: one object per line (SuperGLUE)"),
    Format("json", frozenset({"encoding", "records_path", "unnest"}),
           "a JSON array of objects, optionally under read.records_path (AdvGLUE)"),
    Format("conll", frozenset({"encoding", "delimiter", "token_column", "tag_column", "unit"}),
           "CoNLL columns (CoNLL-2003): columns 'tokens', 'tags' and 'document', one sentence (or document: "
           "read.unit) per row"),
    Format("parquet", frozenset(), "Apache Parquet"),
    Format("hub", frozenset(), "a Hugging Face Hub dataset: source.repo, source.config, source.revision (pinned); "
                               "splits name hf_split; a local copy in <data-dir>/<source.dir> is read first",
           local=False),
):
    FORMATS.add(_format.name, _format)
