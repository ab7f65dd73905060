"""Tokenizing for the exported runtimes: padded lengths come in a few steps, within the limit."""

from __future__ import annotations

from esrerank.models.hub import OFFLINE_CROSS_ENCODER, resolve_model
from esrerank.models.inference import PAD_MULTIPLE, Tokenized

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def _tokenized(max_length: int) -> Tokenized:
    folder = resolve_model(OFFLINE_CROSS_ENCODER, "cross-encoder")
    return Tokenized(folder / "tokenizer.json", max_length, pad_id=0, pad_token="[PAD]")


def test_batches_pad_to_a_step_and_mask_the_padding():
    tokenized = _tokenized(512)
    widths = set()
    for words in range(1, 200, 7):
        feed = tokenized.encode([("query", "word " * words), ("query", "short")], INPUTS)
        width = feed["input_ids"].shape[1]
        assert width % PAD_MULTIPLE == 0
        assert feed["attention_mask"][1].sum() < width  # the short pair's padding is masked
        assert feed["attention_mask"][0].sum() > width - PAD_MULTIPLE
        widths.add(width)
    assert len(widths) <= 7  # 29 batch lengths, a handful of shapes


def test_a_limit_off_the_steps_is_never_passed():
    feed = _tokenized(100).encode(["word " * 300, "short"], INPUTS)
    assert feed["input_ids"].shape[1] == 100
