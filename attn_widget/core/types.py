"""Named array shapes used across the package.

Conventions (numpy arrays, never torch, outside ``extract``):

- ``Attention``: float32 ``[layer, head, query, key]``; each query row sums to ~1.
- ``LayerAttention``: float32 ``[head, query, key]``, one layer of it, as a
  streaming forward pass hands it to an :data:`OnLayer` callback.
- ``Matrix``: float ``[query, key]``, one aggregated token-to-token map.
- ``Labels``: int32 ``[token]``, a cluster id per token; ``-1`` marks a token
  excluded from the graph (the first-token attention sink).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Attention: TypeAlias = npt.NDArray[np.float32]
"""``[layer, head, query, key]`` attention probabilities."""

LayerAttention: TypeAlias = npt.NDArray[np.float32]
"""``[head, query, key]`` attention of one layer."""

OnLayer: TypeAlias = Callable[[int, LayerAttention, "npt.NDArray[np.float32] | None"], None]
"""``on_layer(layer, attention, value_norm)``, called once per layer while the model runs.

``attention`` is a read-only view of the model's own buffer, valid only during
the call (copy what you keep); ``value_norm`` is the layer's ``[head, key]``
value-output norms when they were measured, else ``None``.
"""

OnBlock: TypeAlias = Callable[[int, int, LayerAttention, "npt.NDArray[np.float32] | None"], None]
"""``on_block(layer, start, attention, value_norm)``: one block of a layer's queries (a streamed pass
computing the weights in blocks, :mod:`attn_widget.extract.blocks`).

``attention`` is ``[head, rows, keys]`` for the queries ``start … start + rows - 1``; keys from
``keys`` on are zero (a causal block stops at its last query). Blocks of a layer arrive in order of
``start``, the layers in order; a whole layer is one block with ``start`` 0.
"""

Matrix: TypeAlias = npt.NDArray[np.floating]
"""``[query, key]`` token-to-token weights."""

Labels: TypeAlias = npt.NDArray[np.int32]
"""``[token]`` cluster id per token, ``-1`` for excluded tokens."""

EXCLUDED = -1
"""Label given to tokens left out of the graph (e.g. the attention sink)."""
