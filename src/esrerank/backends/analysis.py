"""Text analysis and BM25 scoring that match Lucene, for the embedded store.

``analyze`` approximates Lucene's ``standard`` analyzer (Unicode word boundaries, UAX #29, then
lowercase, no stop words): words of letters and digits, kept whole across ``.`` ``'`` ``:``
between letters and ``.`` ``,`` ``;`` between digits; each Han or Hiragana character and each
emoji-like symbol (``©``, ``®``) is its own token; superscripts and other non-decimal number signs
(``²``) are not part of words.

``analyze_cjk`` is the ``cjk`` analyzer for Korean, Chinese and Japanese: every run of Hangul,
Han or Kana characters becomes its overlapping character bigrams (a lone character stays a
unigram), as Lucene's CJK bigram filter does, and everything else is analyzed as above. With the
standard analyzer a Korean word keeps its particles (``대한민국의`` never matches ``대한민국``);
bigrams match across them. Indexes built with ``cjk`` are analyzed here, on the client, for every
backend, so the engines need no plugin and score exactly the same tokens as the embedded store.

``bm25_scores`` is the BM25 Elasticsearch (every version) and OpenSearch 2.x score with (Lucene's
LegacyBM25Similarity, k1=1.2, b=0.75): ``idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * dl /
avgdl))`` with ``idf = ln(1 + (N - n + 0.5) / (n + 0.5))``, where the document length ``dl`` goes
through Lucene's one-byte norm encoding (SmallFloat.intToByte4). OpenSearch 3.x drops the constant
``k1 + 1`` factor: its scores are 2.2 times smaller, in the same order.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from ..errors import ConfigError

K1 = 1.2
B = 0.75

_IDEOGRAPHIC = "\u3040-\u309f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NUMBER_SIGNS = "\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u2150-\u218f\u2460-\u24ff"
_EMOJI = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u25aa-\u27bf"
    "\U0001f000-\U0001faff"
)
_WORD = rf"[^\W{_IDEOGRAPHIC}{_NUMBER_SIGNS}]+"
_LETTER = r"[^\W\d_]"
_JOIN = rf"(?:(?<={_LETTER})[.:'’](?={_LETTER})|(?<=\d)[.,;](?=\d))"
_TOKEN = re.compile(rf"[{_IDEOGRAPHIC}{_EMOJI}]|{_WORD}(?:{_JOIN}{_WORD})*")


_CJK_RUN = re.compile(
    "([\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff]+)"
)


def analyze(text: str) -> list[str]:
    """Tokens of ``text`` as Lucene's standard analyzer would index them."""
    return [token.lower() for token in _TOKEN.findall(text)]


def analyze_cjk(text: str) -> list[str]:
    """Character bigrams of each Hangul / Han / Kana run, standard tokens for the rest."""
    return [token for token, _, _ in token_spans(text, "cjk")]


def token_spans(text: str, analyzer: str = "standard") -> list[tuple[str, int, int]]:
    """The tokens ``analyzer`` (``standard`` or ``cjk``) makes of ``text``, each with its
    ``[start, end)`` character offsets in ``text``."""
    spans: list[tuple[str, int, int]] = []
    parts = _CJK_RUN.split(text) if analyzer == "cjk" else [text]
    at = 0
    for number, part in enumerate(parts):
        if number % 2 == 0:
            spans += [
                (m.group().lower(), at + m.start(), at + m.end()) for m in _TOKEN.finditer(part)
            ]
        elif len(part) == 1:
            spans.append((part, at, at + 1))
        else:
            spans += [(part[i : i + 2], at + i, at + i + 2) for i in range(len(part) - 1)]
        at += len(part)
    return spans


def cjk_share(text: str) -> float:
    """The share of ``text``'s non-space characters that are Hangul, Han or Kana."""
    letters = len(text) - sum(ch.isspace() for ch in text)
    cjk = sum(len(run) for run in _CJK_RUN.findall(text))
    return cjk / letters if letters else 0.0


ANALYZERS = {"standard": analyze, "cjk": analyze_cjk}


def analyzer(name: str):
    """The analyze function called ``name``."""
    if name not in ANALYZERS:
        raise ConfigError(f"Unknown analyzer '{name}'. Choose one of {', '.join(ANALYZERS)}.")
    return ANALYZERS[name]


def term_frequencies(text: str, analyzer_name: str = "standard") -> tuple[Counter[str], int]:
    """Each term's count in ``text``, and the field length in tokens."""
    tokens = analyzer(analyzer_name)(text)
    return Counter(tokens), len(tokens)


def _int_to_int4(value: int) -> int:
    bits = value.bit_length()
    if bits < 4:
        return value
    shift = bits - 4
    return ((value >> shift) & 0x07) | ((shift + 1) << 3)


def _int4_to_int(encoded: int) -> int:
    bits, shift = encoded & 0x07, (encoded >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


_FREE_VALUES = 255 - _int_to_int4(2**31 - 1)  # 24: lengths below this are exact


def encoded_length(length: int) -> int:
    """The document length Lucene scores with after its lossy one-byte norm encoding."""
    if length < _FREE_VALUES:
        return length
    return _FREE_VALUES + _int4_to_int(_int_to_int4(length - _FREE_VALUES))


def idf(doc_count: int, doc_freq: int) -> float:
    return math.log(1 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


def bm25_scores(
    tf: np.ndarray, doc_length: np.ndarray, doc_freq: int, doc_count: int, avg_length: float
) -> np.ndarray:
    """BM25 of one term over the documents that contain it (arrays aligned)."""
    norm = K1 * (1 - B + B * doc_length / avg_length)
    return idf(doc_count, doc_freq) * (K1 + 1) * tf / (tf + norm)
