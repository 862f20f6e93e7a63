"""The extraction layer: bytes in, a stream of Documents out, each with lazy text/table Blocks.

open_documents(path, display_path, limits) -> Iterator[Document]
sniff(path_or_bytes) -> media type (libmagic, refined)
"""

from dlpscan.extract.documents import open_documents
from dlpscan.extract.limits import Limits
from dlpscan.extract.sniff import sniff

__all__ = ["Limits", "open_documents", "sniff"]
