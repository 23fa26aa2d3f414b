"""The lowest layer: array types, the registry, the frozen results and their save/load, shared helpers.

Imports no other layer of attn_widget.
"""

from .ablation import Ablation
from .analysis import FORMAT_VERSION, Analysis
from .comparison import Comparison, LinkChange, Matching
from .generation import Event, Generation, Settings, Step, Track
from .partition import Edit, Partition
from .prediction import Candidate, PredictionChange
from .records import Arc, Cluster, Finding, Link, Options, Sweep, Token
from .registry import Registry

__all__ = [
    "FORMAT_VERSION",
    "Ablation",
    "Analysis",
    "Arc",
    "Candidate",
    "Cluster",
    "Comparison",
    "Edit",
    "Event",
    "Finding",
    "Generation",
    "Link",
    "LinkChange",
    "Matching",
    "Options",
    "Partition",
    "PredictionChange",
    "Registry",
    "Settings",
    "Step",
    "Sweep",
    "Token",
    "Track",
]
