"""The lowest layer: array types, the registry, the frozen result and its save/load, shared helpers.

Imports no other layer of attn_widget.
"""

from .analysis import FORMAT_VERSION, Analysis
from .partition import Edit, Partition
from .records import Cluster, Link, Options, Sweep, Token
from .registry import Registry

__all__ = [
    "FORMAT_VERSION",
    "Analysis",
    "Cluster",
    "Edit",
    "Link",
    "Options",
    "Partition",
    "Registry",
    "Sweep",
    "Token",
]
