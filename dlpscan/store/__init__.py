"""Results database: scans, files, entity counts, fingerprints, triage and the daemon's queues."""

from .exposure import Exposure
from .results import StoredFile
from .store import Store, StoreMissing

__all__ = ["Exposure", "Store", "StoreMissing", "StoredFile"]
