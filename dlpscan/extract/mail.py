"""E-mail: .eml (stdlib email) and Outlook .msg (extract-msg).

The message itself becomes text (address headers, subject, plain bodies, HTML bodies with tables
kept as tables); its attachments are handed back as members ('mail.eml!attachment.xlsx').

The stdlib's structured header parsing (policy.default) is super-linear, and even recursive, on
crafted headers, and so are its MIME parameter splitting and RFC 2047 decoding of one long value.
So messages are parsed with the compat32 policy (headers stay raw strings), parameters are split
in one pass, and long header values are decoded in pieces.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import io
import re
from collections.abc import Iterator
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from pathlib import PurePosixPath

from dlpscan.extract.archive import Member
from dlpscan.extract.context import Context
from dlpscan.extract.decode import decode_bytes
from dlpscan.extract.errors import ExtractError
from dlpscan.extract.markup import read_html
from dlpscan.extract.plain import split_text
from dlpscan.extract.source import BytesSource, Source
from dlpscan.model import Block

_HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Sender", "Subject", "Date")


def _safe_name(name: str | None, n: int, default_ext: str = ".bin") -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name.strip()
    return base or f"attachment-{n}{default_ext}"


HEADER_PIECE_CHARS = 8 * 1024  # RFC 2047 decoding cost grows with the square of what it is given
_PARAM_MARKS = re.compile(r'\\"|"|;')


class _Message(email.message.Message):
    """compat32 message whose MIME parameters (boundary, charset, filename) are split in one pass.

    The stdlib's `_parseparam` rescans the value from its start at every ';' (quadratic): a
    Content-Type with many parameters kept the parser busy for minutes. A header's parameters are
    split once: the content type, charset, boundary and file name each ask for them again.
    """

    _params: dict[tuple[str, str], list[tuple[str, str]]]

    def _get_params_preserve(self, failobj, header):
        value = self.get(header)
        if value is None:
            return failobj
        if "_params" not in self.__dict__:
            self._params = {}
        key = (header.lower(), str(value))
        params = self._params.get(key)
        if params is None:
            pieces = []
            for piece in split_params(key[1]):
                name, eq, val = piece.partition("=")
                pieces.append((name.strip(), val.strip()) if eq else (piece.strip(), ""))
            params = self._params[key] = email.utils.decode_params(pieces)
        return list(params)


def split_params(value: str) -> list[str]:
    """`_parseparam` in linear time: the value cut at semicolons outside double quotes."""
    pieces, start, quoted = [], 0, False
    for m in _PARAM_MARKS.finditer(value):
        mark = m.group()
        if mark == '"':
            quoted = not quoted
        elif mark == ";" and not quoted:
            pieces.append(value[start : m.start()])
            start = m.end()
    pieces.append(value[start:])
    out = []
    for piece in pieces:
        name, eq, rest = piece.partition("=")
        out.append(f"{name.strip().lower()}={rest.strip()}" if eq else piece.strip())
    return out


def header_text(raw: object) -> str:
    """A header value with RFC 2047 encoded words decoded, in pieces cut at whitespace."""
    text = str(raw)
    out = []
    start = 0
    while start < len(text):
        end = min(len(text), start + HEADER_PIECE_CHARS)
        if end < len(text):
            space = text.rfind(" ", start + HEADER_PIECE_CHARS // 2, end)
            end = space + 1 if space >= 0 else end
        out.append(_decoded(text[start:end]))
        start = end
    return "".join(out)


def _decoded(piece: str) -> str:
    try:
        return str(make_header(decode_header(piece)))
    except (LookupError, UnicodeError, ValueError, HeaderParseError):
        return decode_bytes(piece.encode("utf-8", "surrogateescape"))  # raw 8-bit header (GBK ...)


def read_eml(src: Source, ctx: Context) -> tuple[Iterator[Block], list[Member]]:
    with src.open() as f:
        try:
            msg = email.message_from_binary_file(f, _class=_Message, policy=email.policy.compat32)
        except Exception as e:  # the stdlib parser is lenient; this is defensive
            raise ExtractError(f"{type(e).__name__}: cannot parse e-mail") from None
    lines = []
    for h in _HEADERS:
        for value in msg.get_all(h, []):
            lines.append(f"{h}: {header_text(value)}")
    bodies: list[str] = []
    html: list[str] = []
    members: list[Member] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = part.get_filename()
        filename = header_text(filename) if filename else filename
        image = ctype.startswith("image/")  # attached or inline (cid:), read by OCR
        if filename or image or part.get_content_disposition() == "attachment" or ctype == "message/rfc822":
            payload = _payload(part)
            ext = ".eml" if ctype == "message/rfc822" else f".{ctype[6:]}" if image else ".bin"
            name = _safe_name(filename, len(members) + 1, ext)
            members.append(Member(name, source=BytesSource(payload, name), size=len(payload)))
        elif ctype == "text/plain":
            bodies.append(_text(part))
        elif ctype == "text/html":
            html.append(_text(part))
    text = "\n".join(lines + bodies)
    return _eml_blocks(text, [] if bodies else html, ctx), members


def _eml_blocks(text: str, html: list[str], ctx: Context) -> Iterator[Block]:
    yield from split_text(text, ctx, "message")
    for h in html:
        yield from read_html(io.StringIO(h), ctx)


def _payload(part) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            return inner[0].as_bytes()
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _text(part) -> str:
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset()
    if charset:
        try:
            return data.decode(charset, errors="replace")
        except LookupError:
            pass
    return decode_bytes(data)


def read_msg(src: Source, ctx: Context) -> tuple[Iterator[Block], list[Member]]:
    import extract_msg

    with src.open() as f:
        data = f.read()
    try:
        msg = extract_msg.openMsg(data, strict=False, delayAttachments=False)
    except Exception as e:  # extract-msg raises many kinds for damaged OLE files
        raise ExtractError(f"{type(e).__name__}: cannot read Outlook message") from None
    try:
        lines = []
        for label, attr in (
            ("From", "sender"),
            ("To", "to"),
            ("Cc", "cc"),
            ("Subject", "subject"),
            ("Date", "date"),
        ):
            value = getattr(msg, attr, None)
            if value:
                lines.append(f"{label}: {value}")
        body = getattr(msg, "body", None) or ""
        html_body = getattr(msg, "htmlBody", None)
        members: list[Member] = []
        for att in getattr(msg, "attachments", None) or []:
            payload = getattr(att, "data", None)
            name = _safe_name(
                getattr(att, "longFilename", None) or getattr(att, "shortFilename", None), len(members) + 1
            )
            if isinstance(payload, bytes):
                members.append(Member(name, source=BytesSource(payload, name), size=len(payload)))
    finally:
        msg.close()
    html = (
        [decode_bytes(html_body)] if isinstance(html_body, bytes) and html_body and not body.strip() else []
    )
    return _eml_blocks("\n".join([*lines, body]), html, ctx), members
