"""`dlpscan watch` with an EDM index: a rebuilt index is applied to unchanged files on catch-up,
from their stored evidence, without reading them again."""

from __future__ import annotations

import os
from pathlib import Path

from edm_people import KEY, build, customers
from test_watch import Watch, wait_for

POLICY = "name: edm-watch\nrules:\n  - {name: our-customers, severity: high, min_edm_rows: 3}\n"


def _edm(watch: Watch, path: Path) -> tuple[str, int, int, bool] | None:
    stored = watch.stored([path]).get(str(path))
    if stored is None or stored.result.edm is None:
        return None
    e = stored.result.edm
    return e.version, e.high, e.medium, stored.result.flagged


def test_catch_up_applies_a_rebuilt_index_without_reading(tmp_path: Path) -> None:
    people = customers(40, seed=31)
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    old_version = build(old, people[:30]).header.version
    new_version = build(new, people[10:40]).header.version
    key = tmp_path / "edm.key"
    key.write_text(KEY, encoding="utf-8")
    policy = tmp_path / "edm-watch.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    root = tmp_path / "share"
    root.mkdir()
    export = root / "export.csv"
    rows = "".join(f"{c.name},{c.id},{c.mobile}\n" for c in people[5:15])  # 5 old-only, 5 in both
    rows += "".join(f",{c.id},\n" for c in people[30:34])  # customers of the new index only, ID alone
    export.write_text("姓名,身份证号,手机号\n" + rows, encoding="utf-8")
    watch = Watch(tmp_path, root)
    try:
        watch.write_config(
            top={"edm": str(old / "customers.edm"), "edm_key_file": str(key), "policy": str(policy)}
        )
        watch.start()
        assert wait_for("the first match", lambda: _edm(watch, export)) == (old_version, 10, 0, True)
        assert watch.stop() == 0
        stat = export.stat()
        export.write_bytes(b"x" * stat.st_size)  # read again, it would hold nobody
        os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        watch.write_config(top={"edm": str(new / "customers.edm")})
        watch.start()
        refreshed = wait_for("the refresh", lambda: (e := _edm(watch, export)) and e[0] == new_version and e)
        assert refreshed == (new_version, 5, 4, True)
        assert watch.stored([export])[str(export)].result.entities["CN_RESIDENT_ID"].distinct == 14
        assert watch.stop() == 0
    finally:
        watch.close()
