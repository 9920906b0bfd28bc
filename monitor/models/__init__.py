"""Speech models: the manifest of official Vosk models, `pull`, resolution of the model to use,
and the low-latency endpointing overlay. The pipeline needs only `resolve_model` and
`endpointing_overlay`.
"""

from monitor.models.download import pull_model
from monitor.models.manifest import Manifest, ModelSpec, load_manifest
from monitor.models.overlay import STOCK_ENDPOINTING, Endpointing, endpointing_overlay
from monitor.models.resolve import check_model_dir, resolve_model

__all__ = [
    "STOCK_ENDPOINTING",
    "Endpointing",
    "Manifest",
    "ModelSpec",
    "check_model_dir",
    "endpointing_overlay",
    "load_manifest",
    "pull_model",
    "resolve_model",
]
