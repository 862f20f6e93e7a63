"""Results database: scans, files, entity counts, fingerprints, triage and the daemon's queues."""

from .exposure import DIRECT_IDENTIFIERS, Exposure
from .listing import FileQuery
from .results import StoredFile
from .store import Store

__all__ = ["DIRECT_IDENTIFIERS", "Exposure", "FileQuery", "Store", "StoredFile"]
