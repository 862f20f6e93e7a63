"""Access exposure: who can read a file (POSIX mode and ACLs, NTFS ACLs on CIFS mounts, Samba shares)."""

from .levels import ALL_LEVELS, LEVELS, UNKNOWN, at_least, rank, widest
from .reader import AccessOptions, AccessReader
from .samba import SambaConfigError, Share, load_shares

__all__ = [
    "ALL_LEVELS",
    "LEVELS",
    "UNKNOWN",
    "AccessOptions",
    "AccessReader",
    "SambaConfigError",
    "Share",
    "at_least",
    "load_shares",
    "rank",
    "widest",
]
