"""`Fingerprints`: a scan's distinct keyed fingerprints held as one bytes object, read as hex strings."""

from __future__ import annotations

import hashlib
import io
import json
import pickle

import pytest

from dlpscan.model import EntityStats, FileResult, Fingerprints, Status
from dlpscan.sinks.files import JsonlWriter, report_json
from dlpscan.sinks.report_line import report_line
from dlpscan.store import codec

DIGESTS = sorted(hashlib.sha256(str(i).encode()).digest() for i in range(5))
HEX = [d.hex() for d in DIGESTS]


def test_reads_as_the_contracts_hex_strings_in_order():
    fps = Fingerprints(b"".join(DIGESTS))
    assert len(fps) == 5
    assert list(fps) == HEX
    assert fps[0] == HEX[0] and fps[-1] == HEX[-1] and fps[1:3] == HEX[1:3]
    assert HEX[2] in fps and "0" * 64 not in fps
    assert set(fps) == set(HEX)
    with pytest.raises(IndexError):
        fps[5]


def test_equal_to_the_same_list_and_to_itself_after_pickling():
    fps = Fingerprints(b"".join(DIGESTS))
    assert fps == HEX and fps == tuple(HEX) and fps != HEX[:4]
    assert pickle.loads(pickle.dumps(fps)) == fps
    assert Fingerprints() == [] and len(Fingerprints()) == 0


def test_refuses_anything_but_whole_digests_and_never_shows_them():
    with pytest.raises(ValueError, match="32-byte"):
        Fingerprints(b"13912345678")
    assert repr(Fingerprints(b"".join(DIGESTS))) == "Fingerprints(5)"


def test_report_line_and_store_rows_take_them_as_lists_do():
    as_list = FileResult(
        "a.csv", Status.SCANNED, entities={"CN_MOBILE": EntityStats(1, 1, fingerprints=list(reversed(HEX)))}
    )
    compact = FileResult(
        "a.csv",
        Status.SCANNED,
        entities={"CN_MOBILE": EntityStats(1, 1, fingerprints=Fingerprints(b"".join(DIGESTS)))},
    )
    assert json.loads(report_json(compact, True))["entities"]["CN_MOBILE"]["fingerprints"] == HEX
    expected = [(7, "CN_MOBILE", b"".join(DIGESTS))]
    assert codec.fingerprint_groups(7, compact) == expected
    assert codec.fingerprint_groups(7, as_list) == expected  # hex lists are checked, sorted, decoded


@pytest.mark.parametrize("count", [0, 1, 5])
def test_a_json_line_is_what_json_dumps_writes_of_the_same_lists(count):
    entities = {
        "CN_MOBILE": EntityStats(
            count, count, fingerprints=Fingerprints(b"".join(DIGESTS[:count])), samples=["***"]
        ),
        "CN_RESIDENT_ID": EntityStats(2, 2, fingerprints=HEX[:2]),
        "CN_ADDRESS": EntityStats(3, 3, fingerprints=None),
    }
    result = FileResult("客户\u0000fingerprints.csv", Status.SCANNED, entities=entities)
    line = report_line(result, include_fingerprints=True)
    for entry in line["entities"].values():
        if "fingerprints" in entry:
            entry["fingerprints"] = list(entry["fingerprints"])
    assert report_json(result, True) == json.dumps(line, ensure_ascii=False)
    stream = io.StringIO()
    JsonlWriter(stream, include_fingerprints=True).write(result)
    assert stream.getvalue() == json.dumps(line, ensure_ascii=False) + "\n"
    # A text stream over bytes takes the arrays as ASCII bytes where its encoding writes ASCII as
    # itself, and as text otherwise; the bytes are the same as the text layer would write.
    for encoding in ("utf-8", "gb18030", "utf-16"):
        raw = io.BytesIO()
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        writer = JsonlWriter(text, include_fingerprints=True)
        assert (writer._binary is not None) == (encoding != "utf-16")
        writer.write(result)
        writer.write(result)
        text.flush()
        expected = (json.dumps(line, ensure_ascii=False) + "\n") * 2
        assert raw.getvalue() == expected.encode(encoding), encoding
    for encoding in ("latin-1", "cp1252", "ascii", "UTF8"):  # by their codecs names
        assert JsonlWriter(io.TextIOWrapper(io.BytesIO(), encoding=encoding), True)._binary is not None
    assert "fingerprints" not in report_json(result, False).replace("fingerprints.csv", "")
