"""Sentence embeddings for the education search: WordLlama's 256-dimension static model.

Why this model: its weights (16 MB) and tokenizer ship inside the ``wordllama`` wheel from PyPI,
so it runs on the CPU with numpy alone, offline, with nothing fetched at run time (we load it
with ``disable_download=True``: a missing file is an error, never a download). Embedding a
question takes well under a millisecond, so the search stays interactive on the small server.
A transformer such as all-MiniLM-L6-v2 understands word order better, but no PyPI package ships
it together with its tokenizer without PyTorch or ONNX Runtime (hundreds of MB), and for short
patient questions against 40 articles, word-level meaning is what matters ("thirsty, sick and
constipated" near "high calcium"; "muddled" near "confused").

The vectors are unit length, so a dot product is the cosine similarity.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DIM", "embed"]

DIM = 256


WEIGHTS = ("weights", "l2_supercat_256.safetensors")
TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")


@cache
def _model() -> Any:
    """The model from the files inside the installed wheel. Loaded by path rather than with
    ``WordLlama.load``: in wordllama 0.4.0 that looks for the tokenizer in a folder the wheel
    does not have, then falls back to a download; reading the packaged files directly can
    only succeed offline or fail loudly."""
    from importlib import resources

    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference  # type: ignore[import-untyped]

    root = resources.files("wordllama")
    tokenizer = Tokenizer.from_file(str(root.joinpath(*TOKENIZER)))
    with safe_open(str(root.joinpath(*WEIGHTS)), framework="np", device="cpu") as f:
        table = f.get_tensor("embedding.weight")
    if table.shape[1] != DIM:
        raise ValueError(f"wordllama weights have {table.shape[1]} dimensions, expected {DIM}")
    return WordLlamaInference(table, tokenizer)


def embed(texts: list[str]) -> NDArray[np.float32]:
    """Unit vectors for `texts`, one row each (a zero vector for a text with no known token)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    vectors = np.asarray(_model().embed(texts, norm=False), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: NDArray[np.float32] = np.divide(
        vectors, norms, out=np.zeros_like(vectors), where=norms > 0
    )
    return unit
