"""Text decoding that is right for Chinese files and never fails.

The encoding is chosen once per file from samples of its head, middle and tail: a BOM wins;
then strict UTF-8; then charset-normalizer's guess, biased towards GB18030 (a superset of
GB2312/GBK) because short Chinese samples are often misread as Big5, EUC-KR or Shift-JIS.
The whole file is then decoded as a stream with errors='replace', so broken or mixed bytes
become U+FFFD and never cost the rest of the file.
"""

from __future__ import annotations

import codecs
import io
import re
from typing import BinaryIO

import charset_normalizer

SAMPLE_BYTES = 32 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_GB = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn"}
_BIG5 = {"big5", "big5hkscs", "cp950"}
_OTHER_CJK = {"shift_jis", "cp932", "euc_jp", "euc_jis_2004", "shift_jis_2004", "euc_kr", "cp949", "johab"}


def sample_of(f: BinaryIO, size: int | None) -> list[bytes]:
    """Up to three samples: head, middle and tail (the latter two only for large seekable files)."""
    head = f.read(SAMPLE_BYTES)
    parts = [head]
    if size is not None and size > 3 * SAMPLE_BYTES and f.seekable():
        for pos in (size // 2, size - SAMPLE_BYTES):
            f.seek(pos)
            parts.append(f.read(SAMPLE_BYTES))
    f.seek(0)
    return parts


def detect_encoding(parts: list[bytes] | bytes) -> str:
    """A Python codec name that decodes the samples (errors='replace' covers what it does not)."""
    if isinstance(parts, (bytes, bytearray)):
        parts = [bytes(parts)]
    head = parts[0] if parts else b""
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    utf16 = utf16_without_bom(head)  # before UTF-8: ASCII in UTF-16 is valid UTF-8 full of NULs
    if utf16:
        return utf16
    if all(_utf8_ok(p, first=i == 0) for i, p in enumerate(parts)):
        return "utf-8"
    sample = _dense_sample(parts)
    results = charset_normalizer.from_bytes(sample)
    best = results.best()
    guess = _codec_name(best.encoding) if best is not None else ""
    if guess in _BIG5 and any(
        _codec_name(r.encoding) in _GB and r.chaos <= best.chaos and r.coherence >= best.coherence
        for r in results
    ):
        guess = "gb18030"  # a tie between GB and Big5 readings: Chinese mainland files are far more common
    if guess in _GB:
        return "gb18030"
    if guess in _BIG5 and len(sample) >= 256:
        return "big5hkscs"
    if guess in _OTHER_CJK and _strict_ok(sample, "gb18030") and not _native_script(sample, guess):
        return "gb18030"  # Chinese names alone read as Korean or Japanese made of Hanja/kanji only
    if guess in _OTHER_CJK and len(sample) >= 1024 and _strict_ok(sample, guess):
        return guess
    if _strict_ok(sample, "gb18030"):
        return "gb18030"
    if guess and guess not in _BIG5 and _strict_ok(sample, guess):
        return guess
    return "gb18030" if _mostly_ok(sample, "gb18030") else "utf-8"


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_KOREAN = {"euc_kr", "cp949", "johab"}


def _native_script(sample: bytes, encoding: str) -> bool:
    """Does the sample, read as Korean or Japanese, hold that language's own script? Korean text is
    almost all Hangul (few Hanja) and Japanese text always has kana; GB-encoded Chinese read as
    either comes out as a jumble with many Han characters (the byte ranges overlap)."""
    text = sample.decode(encoding, errors="replace")
    han = len(_HAN.findall(text))
    if encoding in _KOREAN:
        hangul = len(_HANGUL.findall(text))
        return hangul >= 0.8 * (hangul + han)
    kana = len(_KANA.findall(text))
    return kana >= 0.2 * (kana + han)


def _codec_name(name: str) -> str:
    return codecs.lookup(name).name.replace("-", "_")


def _dense_sample(parts: list[bytes]) -> bytes:
    """The lines of the samples that hold non-ASCII bytes: ASCII lines say nothing about the encoding
    and, in bulk, make charset-normalizer's candidates tie."""
    trimmed = [_trim_to_line(p, first=i == 0) for i, p in enumerate(parts)]
    lines = [ln for p in trimmed for ln in p.split(b"\n") if not ln.isascii()]
    dense = b"\n".join(lines)
    if len(dense) > 2 * SAMPLE_BYTES:
        cut = dense.rfind(b"\n", 0, 2 * SAMPLE_BYTES)
        dense = dense[: cut if cut > 0 else 2 * SAMPLE_BYTES]
    return dense or b"".join(trimmed)


def open_text(f: BinaryIO, encoding: str, newline: str | None = None) -> io.TextIOWrapper:
    """A text stream over `f` that replaces undecodable bytes and normalises newlines by default."""
    return io.TextIOWrapper(f, encoding=encoding, errors="replace", newline=newline)


def decode_bytes(data: bytes) -> str:
    """Decode a whole (small) byte string with the detected encoding."""
    return data.decode(detect_encoding(data), errors="replace")


def _utf8_ok(data: bytes, first: bool) -> bool:
    """Strict UTF-8, tolerating a character cut at either end of a sample."""
    if not first:
        # skip continuation bytes at the start of a sample taken from the middle of the file
        i = 0
        while i < 4 and i < len(data) and 0x80 <= data[i] < 0xC0:
            i += 1
        data = data[i:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(data) - 3 and e.reason == "unexpected end of data"
    return True


UTF16_SAMPLE = 4096
_TEXTY = re.compile(r"[\t\n\r\x20-\x7e\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when a sample without BOM reads as UTF-16 text, else None.

    ASCII-heavy text shows as NUL bytes at every other position; Chinese text has few NULs,
    so a strict decode that is almost all Han, CJK punctuation and printable ASCII counts too.
    """
    sample = head[:UTF16_SAMPLE]
    if len(sample) < 16:
        return None
    even_nul = sample[0::2].count(0)
    odd_nul = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nul > 0.3 * half and even_nul < 0.05 * half:
        return "utf-16-le"
    if even_nul > 0.3 * half and odd_nul < 0.05 * half:
        return "utf-16-be"
    if _utf8_ok(sample, first=True):
        return None  # valid UTF-8 (Chinese UTF-8 never decodes as mostly-Han UTF-16, but be sure)
    sample = sample[: len(sample) // 2 * 2]
    for encoding in ("utf-16-le", "utf-16-be"):
        text = sample.decode(encoding, errors="replace")
        if len(_TEXTY.findall(text)) >= 0.95 * len(text):
            return encoding
    return None


# Control bytes that text files hold: tab, line ends, form feed, escape (coloured logs) and the
# separators of data-platform exports (Hive's \x01-\x03, ASCII's \x1c-\x1f). Others mean binary.
_TEXT_CONTROLS = b"\t\n\r\x0c\x1b\x01\x02\x03\x1c\x1d\x1e\x1f"
_BINARY_CONTROLS = bytes(b for b in range(32) if bytes([b]) not in _TEXT_CONTROLS) + b"\x7f"
_NOT_BINARY = bytes(b for b in range(256) if b not in _BINARY_CONTROLS)
BINARY_SHARE = 0.01


def looks_like_text(head: bytes) -> bool:
    """Are these first bytes of a file mostly text in some encoding (UTF-8 or GB18030, a cut
    character at the end allowed), with hardly any control bytes that text never holds?"""
    if not head:
        return False
    if len(head.translate(None, _NOT_BINARY)) > BINARY_SHARE * len(head):
        return False
    return _utf8_ok(head, first=True) or _mostly_ok(_trim_to_line(head, first=True), "gb18030")


def _trim_to_line(data: bytes, first: bool) -> bytes:
    """Cut a sample at line boundaries so multi-byte characters are not split at its ends."""
    if not first:
        nl = data.find(b"\n")
        data = data[nl + 1 :] if nl >= 0 else b""
    nl = data.rfind(b"\n")
    return data[: nl + 1] if nl >= 0 and len(data) >= SAMPLE_BYTES else data


def _strict_ok(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _mostly_ok(data: bytes, encoding: str) -> bool:
    text = data.decode(encoding, errors="replace")
    return text.count("\ufffd") <= max(2, len(text) // 100)
