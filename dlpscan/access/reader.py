"""Access exposure of files, read while walking: who can read each file, and the principal that decides.

POSIX: read permission on the file and search permission on every folder above it, up to `/` (a
world-readable file in a 0700 folder is not world-readable; the scanned root's own parents count
too, and each folder is read once per walk). CIFS mounts: the NTFS ACL of the file (`cifs`).
Samba shares of a configured smb.conf can widen the result (`samba`). See docs/exposure.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dlpscan.model import Access

from . import cifs, posix
from .levels import rank
from .principals import EVERYONE, NOBODY, Accounts, Audience, Principal
from .samba import Share

CIFS_TYPES = frozenset({"cifs", "smb3"})
CHAIN_CACHE = 4096  # folders whose search audience is kept (a walk is depth first)


@dataclass(frozen=True, slots=True)
class AccessOptions:
    organisation_groups: tuple[str, ...] = ()
    organisation_min_members: int = 0
    shares: tuple[Share, ...] = ()


def cifs_devices(mountinfo: str = "/proc/self/mountinfo") -> frozenset[int]:
    """st_dev of every CIFS/SMB3 mount."""
    found = set()
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                fstype = fields[fields.index("-") + 1] if "-" in fields else ""
                if fstype in CIFS_TYPES:
                    major, minor = fields[2].split(":")
                    found.add(os.makedev(int(major), int(minor)))
    except OSError:
        pass
    return frozenset(found)


class AccessReader:
    """Reads the exposure of files; one per walk (it caches folders and the group database)."""

    def __init__(self, options: AccessOptions) -> None:
        self.options = options
        self.accounts = Accounts(frozenset(options.organisation_groups), options.organisation_min_members)
        self._cifs = cifs_devices()
        self._chains: dict[str, Audience] = {}
        self._described: dict[tuple[Audience, int, str], Access] = {}  # files alike share one answer

    def read(self, path: str, key: str, st: os.stat_result) -> Access:
        """Exposure of a regular file at `path` (stat `st`; `key`: its resolved path, for shares)."""
        try:
            if st.st_dev in self._cifs:
                return self._cifs_access(path)
            audience, extended = posix.holders(path, st, posix.READ)
            audience = self.accounts.meet(self._chain(os.path.dirname(os.path.abspath(path))), audience)
        except OSError as exc:
            return Access("unknown", f"cannot read permissions: {exc.strerror}", None, "mode")
        found = self.describe(audience, st.st_uid, "acl" if extended else "mode")
        for share in self.options.shares:
            if share.covers(key):
                via_share = self._share_access(share, audience, st.st_uid)
                if via_share is not None and rank(via_share.level) > rank(found.level):
                    found = via_share
        return found

    def _cifs_access(self, path: str) -> Access:
        try:
            return cifs.access(os.getxattr(path, cifs.XATTR))
        except OSError as exc:
            return Access("unknown", f"cannot read the NTFS ACL: {exc.strerror}", None, "cifs")
        except cifs.DescriptorError as exc:
            return Access("unknown", f"unreadable NTFS ACL: {exc}", None, "cifs")

    def _chain(self, directory: str) -> Audience:
        """Who may search `directory` and every folder above it."""
        if directory in self._chains:
            return self._chains[directory]
        parent = os.path.dirname(directory)
        above = self._chain(parent) if parent != directory else EVERYONE
        try:
            st = os.stat(directory)
            own, _ = posix.holders(directory, st, posix.SEARCH)
        except OSError:
            own = NOBODY
        chain = self.accounts.meet(above, own)
        if len(self._chains) >= CHAIN_CACHE:
            self._chains.clear()
        self._chains[directory] = chain
        return chain

    def describe(self, audience: Audience, owner_uid: int, via: str) -> Access:
        """The level of an audience, the principal that decided it and how many accounts it holds."""
        key = (audience, owner_uid, via)
        if key not in self._described:
            if len(self._described) >= CHAIN_CACHE:
                self._described.clear()
            self._described[key] = self._describe(audience, owner_uid, via)
        return self._described[key]

    def _describe(self, audience: Audience, owner_uid: int, via: str) -> Access:
        if audience.everyone:
            return Access("public", "other", None, via)
        a = self.accounts
        groups = sorted((p[1] for p in audience.principals if p[0] == "g"), key=lambda g: -len(a.members(g)))
        users = {a.user(p[1]) for p in audience.principals if p[0] == "u"}
        names = users.union(*(a.members(g) for g in groups))
        countable = all(a.members(g) for g in groups)
        readers = len(names) if countable else None
        org = [g for g in groups if a.is_organisation(g)]
        if org:
            return Access("organisation", f"group:{a.group(org[0])}", readers, via)
        owner = a.user(owner_uid)
        shared = [g for g in groups if a.members(g) - {owner} or not a.members(g)]
        if shared:
            return Access("group", f"group:{a.group(shared[0])}", readers, via)
        if others := sorted(users - {owner}):
            return Access("group", f"user:{others[0]}", readers, via)
        if owner in names:
            return Access("owner", f"user:{owner}", 1, via)
        return Access("owner", "root", 0, via)

    def _share_access(self, share: Share, posix_audience: Audience, owner_uid: int) -> Access | None:
        """What the share grants when it reads as a forced identity that can read the file; None when
        the share cannot widen (its users read as themselves, under the same POSIX permissions)."""
        a = self.accounts
        forced: set[Principal] = set()
        if share.force_user and (uid := a.uid(share.force_user)) is not None:
            forced.add(("u", uid))
        if share.force_group and (gid := a.gid(share.force_group)) is not None:
            forced.add(("g", gid))
        identity = Audience(principals=frozenset(forced))
        if not forced or not (posix_audience.everyone or a.meet(posix_audience, identity).principals):
            return None
        if share.guest:
            return Access("public", f"share:{share.name} (guest ok)", None, "smb.conf")
        if not share.valid_users:
            return Access("organisation", f"share:{share.name} (any account)", None, "smb.conf")
        members: set[Principal] = set()
        for name in share.valid_users:
            if name[0] in "@+&":
                gid = a.gid(name.lstrip("@+&"))
                members |= {("g", gid)} if gid is not None else set()
            elif (uid := a.uid(name)) is not None:
                members.add(("u", uid))
        found = self.describe(Audience(principals=frozenset(members)), owner_uid, "smb.conf")
        return Access(found.level, f"share:{share.name} ({found.principal})", found.readers, "smb.conf")
