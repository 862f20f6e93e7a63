"""EMAIL_ADDRESS: a real public suffix from the offline Public Suffix List snapshot."""

from __future__ import annotations

import socket

import pytest
from _external import engine

ENTITY = "EMAIL_ADDRESS"


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wang@example.com", [(ENTITY, "wang@example.com", 0, 16)]),
        ("联系邮箱：Foo.Bar@Example.COM", [(ENTITY, "foo.bar@example.com", 5, 24)]),
        ("邮箱zhang_san+dlp@mail.example.com.cn。", [(ENTITY, "zhang_san+dlp@mail.example.com.cn", 2, 35)]),
        ("ffewfqr23.f@163.com联系电话", [(ENTITY, "ffewfqr23.f@163.com", 0, 19)]),
        # full-width @ and dot fold
        ("ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", [(ENTITY, "wang@example.com", 0, 16)]),
        # file names with a resolution suffix, hosts without a public suffix
        ("icon@2x.png", []),
        ("logo@3x.webp", []),
        ("user@localhost", []),
        ("a@b.notatld", []),
        ("@example.com", []),
        # the local part holds at most 64 characters (RFC 5321); no address starts inside a longer run
        ("x" * 64 + "@example.com", [(ENTITY, "x" * 64 + "@example.com", 0, 76)]),
        ("x" * 65 + "@example.com", []),
        ("登录" + "y" * 65 + "@example.com", []),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


def test_validation_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert spans("mail me: li.si@example.org") == [(ENTITY, "li.si@example.org", 9, 26)]
