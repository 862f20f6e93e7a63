"""NTFS permissions of a file on a kernel CIFS mount: the security descriptor in `system.cifs_acl`.

The xattr holds a self-relative SECURITY_DESCRIPTOR ([MS-DTYP] 2.4.6): owner SID, DACL of ACEs
(type, flags, access mask, SID). A SID with read access decides the exposure: Everyone and
Anonymous make a file public; Authenticated Users, BUILTIN\\Users and a domain's Domain Users or
Domain Computers make it organisation-wide; any other SID but the owner's, SYSTEM, the
Administrators and CREATOR OWNER makes it a named group's. An ACE that denies read to a SID removes
that SID. Folders above the file are not checked: Windows grants everyone "bypass traverse checking"
by default.
"""

from __future__ import annotations

import struct

from dlpscan.model import Access

XATTR = "system.cifs_acl"

# ACE types and flags, access rights that include reading the file's data
ACCESS_ALLOWED, ACCESS_DENIED = 0, 1
INHERIT_ONLY = 0x08
READ_RIGHTS = 0x00000001 | 0x10000000 | 0x80000000  # FILE_READ_DATA, GENERIC_ALL, GENERIC_READ
DACL_PRESENT = 0x0004

PUBLIC_SIDS = {"S-1-1-0": "Everyone", "S-1-5-7": "Anonymous"}
ORGANISATION_SIDS = {"S-1-5-11": "Authenticated Users", "S-1-5-32-545": "BUILTIN\\Users"}
ORGANISATION_RIDS = {513: "Domain Users", 515: "Domain Computers"}  # of a domain: S-1-5-21-…-RID
OWNER_SIDS = {"S-1-5-18": "SYSTEM", "S-1-5-32-544": "BUILTIN\\Administrators", "S-1-3-0": "CREATOR OWNER"}


class DescriptorError(ValueError):
    """The bytes are not a self-relative security descriptor."""


def sid_at(data: bytes, offset: int) -> str:
    """The SID at `offset`, as S-1-5-21-…"""
    if offset + 8 > len(data):
        raise DescriptorError("SID out of range")
    revision, count = data[offset], data[offset + 1]
    authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
    end = offset + 8 + 4 * count
    if revision != 1 or end > len(data):
        raise DescriptorError("malformed SID")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    return "-".join(["S", "1", str(authority), *map(str, subs)])


def _aces(data: bytes, offset: int) -> list[tuple[int, int, int, str]]:
    """(type, flags, mask, SID) of each ACE of the ACL at `offset`."""
    if offset + 8 > len(data):
        raise DescriptorError("DACL out of range")
    count = struct.unpack_from("<H", data, offset + 4)[0]
    aces, pos = [], offset + 8
    for _ in range(count):
        if pos + 8 > len(data):
            raise DescriptorError("ACE out of range")
        ace_type, flags, size = struct.unpack_from("<BBH", data, pos)
        if size < 8:
            raise DescriptorError("malformed ACE")
        if ace_type in (ACCESS_ALLOWED, ACCESS_DENIED):
            mask = struct.unpack_from("<I", data, pos + 4)[0]
            aces.append((ace_type, flags, mask, sid_at(data, pos + 8)))
        pos += size
    return aces


def _level(sid: str) -> tuple[int, str]:
    """(rank: 3 public, 2 organisation, 1 group, 0 owner-like, name) of a SID."""
    if sid in PUBLIC_SIDS:
        return 3, PUBLIC_SIDS[sid]
    if sid in ORGANISATION_SIDS:
        return 2, ORGANISATION_SIDS[sid]
    rid = int(sid.rsplit("-", 1)[1])
    if sid.startswith("S-1-5-21-") and rid in ORGANISATION_RIDS:
        return 2, ORGANISATION_RIDS[rid]
    if sid in OWNER_SIDS:
        return 0, OWNER_SIDS[sid]
    return 1, ""


def access(descriptor: bytes) -> Access:
    """The exposure a security descriptor grants (raises DescriptorError on malformed bytes)."""
    if len(descriptor) < 20 or descriptor[0] != 1:
        raise DescriptorError("not a self-relative security descriptor")
    control, owner_at, _group_at, _sacl_at, dacl_at = struct.unpack_from("<HIIII", descriptor, 2)
    owner = sid_at(descriptor, owner_at) if owner_at else None
    if not control & DACL_PRESENT or not dacl_at:
        return Access("public", "null DACL", None, "cifs")  # no DACL: everyone has full access
    readers: dict[str, bool] = {}
    for ace_type, flags, mask, sid in _aces(descriptor, dacl_at):
        if flags & INHERIT_ONLY or not mask & READ_RIGHTS:
            continue
        if ace_type == ACCESS_DENIED:
            readers[sid] = False
        else:
            readers.setdefault(sid, True)
    granted = [s for s, ok in readers.items() if ok]
    if not granted:
        return Access("owner", f"sid:{owner}" if owner else "nobody", 0, "cifs")
    ranked = [(0 if s == owner else _level(s)[0], s) for s in granted]
    best, sid = max(ranked, key=lambda r: (r[0], r[1] == owner))
    name = _level(sid)[1]
    principal = f"sid:{sid}" + (f" ({name})" if name else "")
    level = {3: "public", 2: "organisation", 1: "group", 0: "owner"}[best]
    return Access(level, principal, None if best >= 1 else 1, "cifs")
