"""Who a permission reaches: audiences of accounts and groups, and the system's group database.

An audience is `EVERYONE` or a set of principals, ("u", uid) and ("g", gid). Reading a file takes
read permission on it and search permission on every folder above it, so a path's audience is the
intersection of the audiences of its parts; a user meets a group when the user is a member.
"""

from __future__ import annotations

import grp
import pwd
from collections.abc import Iterable
from dataclasses import dataclass, field

Principal = tuple[str, int]  # ("u", uid) or ("g", gid)


@dataclass(frozen=True, slots=True)
class Audience:
    everyone: bool = False
    principals: frozenset[Principal] = frozenset()


EVERYONE = Audience(everyone=True)
NOBODY = Audience()


@dataclass
class Accounts:
    """Names and members of accounts and groups, read once per process from pwd/grp (NSS: local
    files, LDAP or winbind, whatever the system is configured with)."""

    organisation_groups: frozenset[str] = frozenset()
    organisation_min_members: int = 0  # 0: a group's size alone never makes it organisation-wide
    _members: dict[int, frozenset[str]] = field(default_factory=dict)
    _primary: dict[int, set[str]] | None = None
    _users: dict[int, str] = field(default_factory=dict)
    _groups: dict[int, str] = field(default_factory=dict)

    def user(self, uid: int) -> str:
        if uid not in self._users:
            try:
                self._users[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self._users[uid] = str(uid)
        return self._users[uid]

    def group(self, gid: int) -> str:
        if gid not in self._groups:
            try:
                self._groups[gid] = grp.getgrgid(gid).gr_name
            except KeyError:
                self._groups[gid] = str(gid)
        return self._groups[gid]

    def uid(self, name: str) -> int | None:
        try:
            return pwd.getpwnam(name).pw_uid
        except KeyError:
            return None

    def gid(self, name: str) -> int | None:
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            return None

    def members(self, gid: int) -> frozenset[str]:
        """Account names in the group: listed members and accounts whose primary group it is."""
        if gid not in self._members:
            if self._primary is None:
                self._primary = {}
                for pw in pwd.getpwall():
                    self._primary.setdefault(pw.pw_gid, set()).add(pw.pw_name)
            try:
                listed = set(grp.getgrgid(gid).gr_mem)
            except KeyError:
                listed = set()
            self._members[gid] = frozenset(listed | self._primary.get(gid, set()))
        return self._members[gid]

    def is_organisation(self, gid: int) -> bool:
        return self.group(gid) in self.organisation_groups or (
            self.organisation_min_members > 0 and len(self.members(gid)) >= self.organisation_min_members
        )

    def meet(self, a: Audience, b: Audience) -> Audience:
        """Principals in both audiences: a user in one and a group holding it in the other meet as
        the user; two different groups meet as their common members."""
        if a.everyone:
            return b
        if b.everyone:
            return a
        out: set[Principal] = set(a.principals & b.principals)
        for x in a.principals - b.principals:
            for y in b.principals - a.principals:
                out.update(self._common(x, y))
        return Audience(principals=frozenset(out))

    def _common(self, x: Principal, y: Principal) -> Iterable[Principal]:
        if x[0] == "u" and y[0] == "u":
            return ()
        if x[0] == "u" or y[0] == "u":
            (_, uid), (_, gid) = (x, y) if x[0] == "u" else (y, x)
            return [("u", uid)] if self.user(uid) in self.members(gid) else []
        both = self.members(x[1]) & self.members(y[1])
        return [("u", u) for u in (self.uid(n) for n in both) if u is not None]
