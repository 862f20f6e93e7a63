"""Samba share definitions (smb.conf) that can widen who reads a path (docs/exposure.md).

A share lets in guests (`guest ok`/`public`), the users and groups of `valid users`, or else every
account that can log in. Without `force user`/`force group` a share's users read files as
themselves, so the POSIX permissions still decide; with one of them every user of the share reads
as the forced identity, which widens the exposure of everything that identity can read. `read list`
and `write list` only decide who may write, so they never change who can read.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass

SPECIAL_SECTIONS = {"global", "homes", "printers", "print$"}
TRUE = {"yes", "true", "1", "on"}


class SambaConfigError(ValueError):
    """smb.conf cannot be read or parsed (a configuration error: exit 2)."""


@dataclass(frozen=True, slots=True)
class Share:
    name: str
    path: str  # resolved absolute path
    guest: bool
    valid_users: tuple[str, ...]  # `alice`, `@hr` / `+hr` / `&hr` for groups; empty: any account
    force_user: str | None
    force_group: str | None

    def covers(self, path: str) -> bool:
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


def _flag(section: configparser.SectionProxy, *keys: str) -> bool:
    return any(section.get(k, "no").strip().lower() in TRUE for k in keys)


def _names(value: str) -> tuple[str, ...]:
    return tuple(n.strip().strip('"') for n in value.replace(",", " ").split() if n.strip())


def load_shares(smb_conf: str) -> tuple[Share, ...]:
    """The file shares of an smb.conf (`include` lines are not followed), longest path first."""
    parser = configparser.RawConfigParser(
        strict=False, comment_prefixes=("#", ";"), inline_comment_prefixes=None, delimiters=("=",)
    )
    try:
        with open(smb_conf, encoding="utf-8") as f:
            parser.read_file(f, source=smb_conf)
    except OSError as exc:
        raise SambaConfigError(f"cannot read smb.conf {smb_conf}: {exc.strerror}") from None
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise SambaConfigError(f"cannot parse smb.conf {smb_conf}: {exc}") from None
    shares = []
    for name in parser.sections():
        section = parser[name]
        path = section.get("path", "").strip()
        if name.lower() in SPECIAL_SECTIONS or not path or "%" in path:
            continue
        if section.get("available", "yes").strip().lower() not in TRUE:
            continue
        shares.append(
            Share(
                name=name,
                path=os.path.realpath(path),
                guest=_flag(section, "guest ok", "public"),
                valid_users=_names(section.get("valid users", "")),
                force_user=section.get("force user", "").strip() or None,
                force_group=section.get("force group", "").strip() or None,
            )
        )
    return tuple(sorted(shares, key=lambda s: -len(s.path)))
