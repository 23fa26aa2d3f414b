"""Named array shapes used across the package.

Conventions (numpy arrays, never torch, outside ``extract``):

- ``Attention``: float32 ``[layer, head, query, key]``; each query row sums to ~1.
- ``Matrix``: float ``[query, key]``, one aggregated token-to-token map.
- ``Labels``: int32 ``[token]``, a cluster id per token; ``-1`` marks a token
  excluded from the graph (the first-token attention sink).
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Attention: TypeAlias = npt.NDArray[np.float32]
"""``[layer, head, query, key]`` attention probabilities."""

Matrix: TypeAlias = npt.NDArray[np.floating]
"""``[query, key]`` token-to-token weights."""

Labels: TypeAlias = npt.NDArray[np.int32]
"""``[token]`` cluster id per token, ``-1`` for excluded tokens."""

EXCLUDED = -1
"""Label given to tokens left out of the graph (e.g. the attention sink)."""
