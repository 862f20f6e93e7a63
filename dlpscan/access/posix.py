"""POSIX permissions of one file or folder: who holds read (files) or search (folders) permission.

One `acl_get_file` call per object (pylibacl): it returns the extended ACL when there is one, else
the ACL equivalent to the mode bits. Named users and groups, and the owning group when there is a
mask, hold only what the mask allows. A principal counts as holding the permission when some entry
that may apply to it grants it (POSIX checks the first matching class: an owner denied by its own
bits but granted by `other` is rare and counted as a reader).
"""

from __future__ import annotations

import errno
import os
import stat

from .principals import EVERYONE, Audience, Principal

try:
    import posix1e
except ImportError:  # not installed (pylibacl is a dependency on Linux only): mode bits alone
    posix1e = None

READ = "read"
SEARCH = "execute"
_MODE_BITS = {
    READ: (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH),
    SEARCH: (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH),
}
ACL_XATTR = "system.posix_acl_access"


def holders(path: str, st: os.stat_result, permission: str) -> tuple[Audience, bool]:
    """(audience holding `permission` on the object, whether it has an extended ACL)."""
    if posix1e is None:
        return _mode_holders(path, st, permission), False
    entries = [(e.tag_type, e) for e in posix1e.ACL(file=path)]
    mask = next((e.permset for tag, e in entries if tag == posix1e.ACL_MASK), None)
    masked = mask is None or getattr(mask, permission)
    found: set[Principal] = set()
    for tag, e in entries:
        if not getattr(e.permset, permission):
            continue
        if tag == posix1e.ACL_OTHER:
            return EVERYONE, mask is not None
        if tag == posix1e.ACL_USER_OBJ:
            found.add(("u", st.st_uid))
        elif tag == posix1e.ACL_GROUP_OBJ and masked:
            found.add(("g", st.st_gid))
        elif tag == posix1e.ACL_USER and masked:
            found.add(("u", e.qualifier))
        elif tag == posix1e.ACL_GROUP and masked:
            found.add(("g", e.qualifier))
    return Audience(principals=frozenset(found)), mask is not None


def _mode_holders(path: str, st: os.stat_result, permission: str) -> Audience:
    """Without pylibacl: the mode bits; an object with an extended ACL cannot be judged (OSError)."""
    try:
        os.getxattr(path, ACL_XATTR)
    except OSError as exc:
        if exc.errno not in (errno.ENODATA, errno.ENOTSUP):
            raise
    else:
        raise OSError(errno.ENOTSUP, "a POSIX ACL, and pylibacl is not installed")
    user, group, other = (bool(st.st_mode & bit) for bit in _MODE_BITS[permission])
    if other:
        return EVERYONE
    found = {("u", st.st_uid)} if user else set()
    return Audience(principals=frozenset(found | ({("g", st.st_gid)} if group else set())))
