"""Results database: scans, files, entity counts, fingerprints, triage and the daemon's queues."""

from .exposure import Exposure
from .listing import FileQuery
from .results import StoredFile
from .store import Store, StoreMissing

__all__ = ["Exposure", "FileQuery", "Store", "StoreMissing", "StoredFile"]
