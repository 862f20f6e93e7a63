"""Access exposure: who can read a file (mode bits, POSIX ACLs set with setfacl, NTFS security
descriptors, smb.conf shares), risk grading, `min_exposure` policies, and exposure updates on a chmod
without reading the file again. Real files in a real tree; users and groups are existing system
ones (root, daemon, nobody, nogroup, ssl-cert), so nothing is added to the system's databases."""

from __future__ import annotations

import csv
import grp
import json
import os
import pwd
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from edm_people import customers, write_master

from dlpscan.access import AccessOptions, AccessReader, Share, at_least, cifs, load_shares
from dlpscan.access.reader import cifs_devices
from dlpscan.cli import main
from dlpscan.model import Access
from dlpscan.pipeline import ScanSettings
from dlpscan.policy import PolicyError, load_policy
from dlpscan.policy.risk import grade, is_stale
from dlpscan.runner import ScanJob, run_scan
from dlpscan.store import Store
from dlpscan.store.schema import files, scan_files
from dlpscan.walk import WalkOptions, walk

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setfacl") is None, reason="needs root (chown) and setfacl"
)

NOGROUP = grp.getgrgid(65534).gr_name  # nogroup: primary group of sync, _apt, nobody (Debian)
NOGROUP_MEMBERS = {pw.pw_name for pw in pwd.getpwall() if pw.pw_gid == 65534} | set(
    grp.getgrgid(65534).gr_mem
)


@pytest.fixture
def tree() -> Iterator[Path]:
    """A folder every account can search (pytest's own tmp_path sits in a 0700 folder)."""
    root = Path(tempfile.mkdtemp(prefix="dlpscan-access-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root)


def make(path: Path, mode: int, group: int = 0, owner: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n", encoding="utf-8")
    os.chown(path, owner, group)
    path.chmod(mode)
    return path


def folder(path: Path, mode: int, group: int = 0) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, 0, group)
    path.chmod(mode)
    return path


def access_of(path: Path, options: AccessOptions | None = None) -> Access:
    return AccessReader(options or AccessOptions()).read(str(path), str(path), os.stat(path))


def setfacl(*args: str) -> None:
    subprocess.run(["setfacl", *args], check=True)


# ---- POSIX mode bits and ACLs ------------------------------------------------------------------


def test_world_readable_file_in_open_folders_is_public(tree: Path):
    assert access_of(make(tree / "open" / "a.csv", 0o644)) == Access("public", "other", None, "mode")


def test_world_readable_file_in_a_0700_folder_is_the_owners_only(tree: Path):
    f = make(folder(tree / "private", 0o700) / "a.csv", 0o644)
    assert access_of(f) == Access("owner", "user:root", 1, "mode")


def test_group_readable_file_is_its_groups_with_the_groups_size(tree: Path):
    f = make(tree / "a.csv", 0o640, group=65534)
    assert NOGROUP_MEMBERS  # nobody, sync, _apt
    assert access_of(f) == Access("group", f"group:{NOGROUP}", len(NOGROUP_MEMBERS | {"root"}), "mode")


def test_a_group_becomes_organisation_wide_by_name_or_by_size(tree: Path):
    f = make(tree / "a.csv", 0o640, group=65534)
    by_name = access_of(f, AccessOptions(organisation_groups=(NOGROUP,)))
    by_size = access_of(f, AccessOptions(organisation_min_members=len(NOGROUP_MEMBERS)))
    too_small = access_of(f, AccessOptions(organisation_min_members=len(NOGROUP_MEMBERS) + 1))
    assert by_name.level == by_size.level == "organisation"
    assert by_name.principal == by_size.principal == f"group:{NOGROUP}"
    assert too_small.level == "group"


def test_the_owners_private_group_is_the_owner_alone(tree: Path):
    daemon = pwd.getpwnam("daemon")
    f = make(tree / "a.csv", 0o640, group=daemon.pw_gid, owner=daemon.pw_uid)
    assert access_of(f) == Access("owner", "user:daemon", 1, "mode")


def test_a_file_nobody_but_root_can_read(tree: Path):
    assert access_of(make(tree / "a.csv", 0o000)) == Access("owner", "root", 0, "mode")


def test_a_named_user_in_the_acl_shares_the_file(tree: Path):
    f = make(tree / "a.csv", 0o600)
    setfacl("-m", "u:daemon:r", str(f))
    assert access_of(f) == Access("group", "user:daemon", 2, "acl")


def test_a_named_group_in_the_acl_and_its_mask(tree: Path):
    f = make(tree / "a.csv", 0o600)
    setfacl("-m", "g:ssl-cert:r", str(f))
    members = {m for m in grp.getgrnam("ssl-cert").gr_mem} | {"root"}
    assert access_of(f) == Access("group", "group:ssl-cert", len(members), "acl")
    setfacl("-m", "m::-", str(f))  # the mask takes read from every named entry
    assert access_of(f) == Access("owner", "user:root", 1, "acl")


def test_an_acl_on_a_folder_lets_a_group_through_to_a_world_readable_file(tree: Path):
    d = folder(tree / "hr", 0o700)
    setfacl("-m", f"g:{NOGROUP}:x", str(d))
    f = make(d / "a.csv", 0o644)
    found = access_of(f)
    assert (found.level, found.principal, found.via) == ("group", f"group:{NOGROUP}", "mode")


def test_a_group_that_cannot_search_the_folder_does_not_read(tree: Path):
    d = folder(tree / "hr", 0o750, group=grp.getgrnam("ssl-cert").gr_gid)
    f = make(d / "a.csv", 0o640, group=65534)  # nogroup may read the file, not enter the folder
    assert access_of(f) == Access("owner", "user:root", 1, "mode")


def test_without_pylibacl_mode_bits_decide_and_an_acl_makes_it_unknown(tree: Path, monkeypatch):
    from dlpscan.access import posix

    plain = make(tree / "plain.csv", 0o640, group=65534)
    shared = make(tree / "shared.csv", 0o600)
    setfacl("-m", "u:daemon:r", str(shared))
    with_acl = access_of(plain)
    monkeypatch.setattr(posix, "posix1e", None)
    assert access_of(plain) == with_acl
    assert access_of(shared) == Access(
        "unknown", "cannot read permissions: a POSIX ACL, and pylibacl is not installed", None, "mode"
    )


def test_permissions_that_cannot_be_read_are_unknown(tree: Path):
    f = make(tree / "a.csv", 0o644)
    st = os.stat(f)
    f.unlink()
    found = AccessReader(AccessOptions()).read(str(f), str(f), st)
    assert found == Access("unknown", "cannot read permissions: No such file or directory", None, "mode")


def test_the_walk_reads_access_of_regular_files_only(tree: Path):
    make(tree / "a.csv", 0o644)
    os.mkfifo(tree / "pipe")
    entries = {Path(e.path).name: e for e in walk([str(tree)], WalkOptions(access=AccessOptions()))}
    assert entries["a.csv"].access == Access("public", "other", None, "mode")
    assert entries["pipe"].access is None and entries["pipe"].skip_reason
    assert {e.access for e in walk([str(tree)], WalkOptions())} == {None}


# ---- CIFS: NTFS security descriptors -----------------------------------------------------------


def sid(text: str) -> bytes:
    parts = text.split("-")
    authority, subs = int(parts[2]), [int(p) for p in parts[3:]]
    return bytes([1, len(subs)]) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def ace(kind: int, mask: int, who: str, flags: int = 0) -> bytes:
    body = struct.pack("<I", mask) + sid(who)
    return struct.pack("<BBH", kind, flags, 4 + len(body)) + body


def descriptor(owner: str, aces: list[bytes], dacl: bool = True) -> bytes:
    """A self-relative SECURITY_DESCRIPTOR as the kernel's cifs client returns it in system.cifs_acl."""
    owner_sid = sid(owner)
    acl = struct.pack("<BBHHH", 2, 0, 8 + sum(map(len, aces)), len(aces), 0) + b"".join(aces)
    control = 0x8000 | (0x0004 if dacl else 0)  # SE_SELF_RELATIVE, SE_DACL_PRESENT
    header = struct.pack("<BBHIIII", 1, 0, control, 20, 0, 0, 20 + len(owner_sid) if dacl else 0)
    return header + owner_sid + (acl if dacl else b"")


OWNER = "S-1-5-21-1004336348-1177238915-682003330-1104"
READ, FULL, WRITE_ONLY = 0x120089, 0x1F01FF, 0x000116
ALLOW, DENY = 0, 1


@pytest.mark.parametrize(
    ("who", "level", "principal"),
    [
        ("S-1-1-0", "public", "sid:S-1-1-0 (Everyone)"),
        ("S-1-5-7", "public", "sid:S-1-5-7 (Anonymous)"),
        ("S-1-5-11", "organisation", "sid:S-1-5-11 (Authenticated Users)"),
        ("S-1-5-32-545", "organisation", "sid:S-1-5-32-545 (BUILTIN\\Users)"),
        ("S-1-5-21-1004336348-1177238915-682003330-513", "organisation",
         "sid:S-1-5-21-1004336348-1177238915-682003330-513 (Domain Users)"),
        ("S-1-5-21-1004336348-1177238915-682003330-515", "organisation",
         "sid:S-1-5-21-1004336348-1177238915-682003330-515 (Domain Computers)"),
        ("S-1-5-21-1004336348-1177238915-682003330-2201", "group",
         "sid:S-1-5-21-1004336348-1177238915-682003330-2201"),
    ],
)  # fmt: skip
def test_a_sid_with_read_access_decides_the_level(who: str, level: str, principal: str):
    sd = descriptor(OWNER, [ace(ALLOW, FULL, OWNER), ace(ALLOW, FULL, "S-1-5-18"), ace(ALLOW, READ, who)])
    assert cifs.access(sd) == Access(level, principal, None, "cifs")


def test_owner_system_and_administrators_only_is_the_owners():
    aces = [ace(ALLOW, FULL, OWNER), ace(ALLOW, FULL, "S-1-5-18"), ace(ALLOW, FULL, "S-1-5-32-544")]
    assert cifs.access(descriptor(OWNER, aces)) == Access("owner", f"sid:{OWNER}", 1, "cifs")


def test_denied_inherit_only_and_write_only_aces_grant_no_read():
    aces = [
        ace(DENY, READ, "S-1-1-0"),
        ace(ALLOW, READ, "S-1-1-0"),
        ace(ALLOW, READ, "S-1-5-11", flags=0x08 | 0x02),  # inherit only: for children, not this file
        ace(ALLOW, WRITE_ONLY, "S-1-5-32-545"),
        ace(ALLOW, FULL, OWNER),
    ]
    assert cifs.access(descriptor(OWNER, aces)).level == "owner"


def test_a_descriptor_without_dacl_is_open_to_everyone():
    assert cifs.access(descriptor(OWNER, [], dacl=False)) == Access("public", "null DACL", None, "cifs")


def test_malformed_descriptors_are_refused():
    sd = descriptor(OWNER, [ace(ALLOW, READ, "S-1-1-0")])
    for broken in (b"", sd[:10], sd[:-6], b"\x02" + sd[1:]):
        with pytest.raises(cifs.DescriptorError):
            cifs.access(broken)


def test_a_file_on_a_cifs_mount_without_its_acl_is_unknown(tree: Path, tmp_path: Path):
    f = make(tree / "a.csv", 0o644)
    st = os.stat(f)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw\n"
        f"37 35 {os.major(st.st_dev)}:{os.minor(st.st_dev)} / /mnt/share rw - cifs //srv/share rw,vers=3.1.1\n",
        encoding="utf-8",
    )
    assert cifs_devices(str(mountinfo)) == {st.st_dev}
    reader = AccessReader(AccessOptions())
    reader._cifs = cifs_devices(str(mountinfo))
    found = reader.read(str(f), str(f), st)  # this filesystem has no system.cifs_acl
    assert (found.level, found.via) == ("unknown", "cifs")
    assert found.principal.startswith("cannot read the NTFS ACL")


# ---- smb.conf shares ---------------------------------------------------------------------------


def smb_conf(tmp_path: Path, text: str) -> tuple[Share, ...]:
    path = tmp_path / "smb.conf"
    path.write_text(text, encoding="utf-8")
    return load_shares(str(path))


def test_shares_that_read_as_a_forced_user_widen_exposure(tree: Path, tmp_path: Path):
    guest = make(folder(tree / "guest", 0o700) / "a.csv", 0o600)
    staff = make(folder(tree / "staff", 0o700) / "a.csv", 0o600)
    anyone = make(folder(tree / "any", 0o700) / "a.csv", 0o600)
    plain = make(folder(tree / "plain", 0o700) / "a.csv", 0o600)
    shares = smb_conf(
        tmp_path,
        f"""[global]
   workgroup = CORP
   guest account = nobody
; a comment
[guest]
   path = {tree}/guest
   guest ok = yes
   force user = root
[staff]
   path = {tree}/staff
   valid users = @{NOGROUP}, daemon
   read list = daemon
   force user = root
[any]
   path = {tree}/any
   force group = root
[plain]
   path = {tree}/plain
   public = yes
[homes]
   path = /home/%S
""",
    )
    assert [s.name for s in shares] == ["guest", "staff", "plain", "any"]  # longest path first
    options = AccessOptions(shares=shares)
    assert access_of(guest, options) == Access("public", "share:guest (guest ok)", None, "smb.conf")
    assert access_of(staff, options) == Access(
        "group", f"share:staff (group:{NOGROUP})", len(NOGROUP_MEMBERS | {"daemon"}), "smb.conf"
    )
    assert access_of(anyone, options) == Access("organisation", "share:any (any account)", None, "smb.conf")
    # guests of a share without `force user` read as the guest account: POSIX still decides
    assert access_of(plain, options) == Access("owner", "user:root", 1, "mode")


def test_a_forced_user_that_cannot_read_widens_nothing(tree: Path, tmp_path: Path):
    f = make(folder(tree / "guest", 0o755) / "a.csv", 0o600)
    shares = smb_conf(tmp_path, f"[guest]\npath = {tree}/guest\nguest ok = yes\nforce user = daemon\n")
    assert access_of(f, AccessOptions(shares=shares)) == Access("owner", "user:root", 1, "mode")


def test_an_unreadable_smb_conf_is_a_configuration_error(tree: Path):
    result = CliRunner().invoke(main, ["scan", str(tree), "--no-store", "--smb-conf", str(tree / "none")])
    assert result.exit_code == 2
    assert "cannot read smb.conf" in result.output


# ---- risk, staleness and policies --------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "level", "risk", "score"),
    [
        ("none", "public", "none", 0),
        ("high", "owner", "medium", 18),
        ("high", "group", "medium", 37),
        ("high", "organisation", "high", 56),
        ("high", "public", "critical", 75),
        ("critical", "organisation", "critical", 75),
        ("critical", "owner", "medium", 25),
        ("critical", "public", "critical", 100),
        ("medium", "unknown", "medium", 25),
        ("medium", None, "medium", 25),
        ("low", "public", "medium", 25),
    ],
)
def test_risk_is_a_matrix_of_severity_and_exposure(severity, level, risk, score):
    assert grade(severity, level) == (risk, score)


def test_stale_after_the_configured_days():
    now = 1_000 * 86_400.0
    assert is_stale(now - 30 * 86_400, now, 30) and not is_stale(now - 29 * 86_400, now, 30)
    assert not is_stale(None, now, 30)


def test_unknown_exposure_reaches_every_minimum():
    assert at_least("public", "organisation") and not at_least("group", "organisation")
    assert at_least("unknown", "public") and at_least(None, "public")


POLICY = """\
name: open-bulk
rules:
  - name: bulk-when-open
    severity: high
    min_exposure: organisation
    min_distinct: {CN_RESIDENT_ID: 50}
  - name: bulk-anywhere
    severity: high
    min_distinct: {CN_RESIDENT_ID: 500}
"""


def test_min_exposure_is_validated(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.replace("min_exposure: organisation", "min_exposure: everyone"), encoding="utf-8")
    with pytest.raises(PolicyError, match="min_exposure"):
        load_policy(str(bad))
    scoped = tmp_path / "scoped.yaml"
    scoped.write_text(
        POLICY.replace(
            "severity: high\n    min_exp", "severity: high\n    scope: [file, folder]\n    min_exp", 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="only for scope 'file'"):
        load_policy(str(scoped))


def scan_job(root: Path, policy: Path, stale_days: int = 365) -> ScanJob:
    return ScanJob(
        roots=[str(root)],
        walk=WalkOptions(access=AccessOptions()),
        settings=ScanSettings(key=b"k", policy=str(policy)),
        policy=load_policy(str(policy)),
        jobs=1,
        file_timeout=60,
        stale_days=stale_days,
    )


class Lines:
    def __init__(self) -> None:
        self.results = []

    def write(self, result) -> None:
        self.results.append(result)


def test_a_chmod_updates_exposure_and_the_decision_without_reading_the_file(tree: Path, tmp_path: Path):
    policy = tmp_path / "open-bulk.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    people = customers(60, seed=17)
    export = tree / "share" / "export.csv"
    export.parent.mkdir()
    write_master(export, people)
    export.chmod(0o600)
    with Store.open(str(tmp_path / "s.sqlite")) as store:
        first = Lines()
        run_scan(scan_job(tree / "share", policy), store, [first])
        (r,) = first.results
        assert (r.access.level, r.flagged, r.severity, r.risk) == ("owner", False, "none", "none")

        export.chmod(0o644)  # ctime changes; size, mtime and content do not
        second = Lines()
        summary = run_scan(scan_job(tree / "share", policy), store, [second])
        (r,) = second.results
        assert (r.access, r.flagged, r.severity, [h.rule for h in r.rules]) == (
            Access("public", "other", None, "mode"), True, "high", ["bulk-when-open"]
        )  # fmt: skip
        assert (r.risk, r.risk_score, r.stale) == ("critical", 75, False)
        assert (summary.unchanged, summary.reassessed, summary.statuses["scanned"]) == (1, 1, 1)
        stored = store.previous(str(export))
        assert stored.result.access == r.access and stored.result.flagged and stored.result.risk == "critical"
        assert len(stored.result.entities["CN_RESIDENT_ID"].fingerprints) == 60  # kept, not re-read
        with store._engine.connect() as conn:
            carried = conn.execute(
                sa.select(scan_files.c.scan_id, scan_files.c.carried, scan_files.c.flagged)
                .join(files, files.c.id == scan_files.c.file_id)
                .order_by(scan_files.c.scan_id)
            ).all()
        assert [tuple(c) for c in carried] == [(1, False, False), (2, True, True)]

        third = Lines()  # nothing changed: carried forward as it is
        summary = run_scan(scan_job(tree / "share", policy, stale_days=1), store, [third])
        assert (summary.unchanged, summary.reassessed) == (1, 0)
        os.utime(export, (1_600_000_000, 1_600_000_000))  # an old export (mtime changed: read again)
        fourth = Lines()
        summary = run_scan(scan_job(tree / "share", policy, stale_days=1), store, [fourth])
        assert (summary.unchanged, fourth.results[0].stale) == (0, True)


def test_report_lines_carry_exposure_and_risk_and_no_raw_values(tree: Path, tmp_path: Path):
    people = customers(60, seed=18)
    export = tree / "export.csv"
    write_master(export, people)
    export.chmod(0o640)
    os.chown(export, 0, 65534)
    out = tmp_path / "r.jsonl"
    db = tmp_path / "s.sqlite"
    result = CliRunner().invoke(
        main, ["scan", str(tree), "--db", str(db), "--format", "jsonl", "-o", str(out), "-j", "1",
               "--policy", "judicial-2017", "--stale-days", "30"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert line["exposure"] == {
        "level": "group", "principal": f"group:{NOGROUP}", "via": "mode", "readers": len(NOGROUP_MEMBERS) + 1
    }  # fmt: skip
    assert (line["severity"], line["risk"], line["risk_score"], line["stale"]) == ("none", "none", 0, False)
    text = out.read_text(encoding="utf-8") + db.read_bytes().decode("utf-8", "replace")
    for p in people:
        assert p.id not in text and p.mobile not in text


# ---- the watch daemon --------------------------------------------------------------------------


def test_the_daemon_updates_exposure_on_chmod_without_reading_the_file_again(tree: Path, tmp_path: Path):
    from test_watch import People, Watch, wait_for

    share = folder(tree / "share", 0o755)
    hr = folder(share / "hr", 0o755)
    w = Watch(tmp_path, share)
    people = People(7)
    try:
        w.start()
        export = hr / "export.csv"
        fd = os.open(export, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(people.bulk())
        first = wait_for("the first alert", lambda: w.alerts())
        assert first[0]["exposure"] == {
            "level": "owner",
            "principal": "user:root",
            "via": "mode",
            "readers": 1,
        }

        export.chmod(0o644)  # IN_ATTRIB: who can read it changed, its content did not
        alerts = wait_for("an alert for the wider exposure", lambda: w.alerts()[1:])
        assert alerts[0]["exposure"] == {"level": "public", "principal": "other", "via": "mode"}
        assert alerts[0]["version"].endswith(":public")
        assert (alerts[0]["severity"], alerts[0]["risk"]) == (first[0]["severity"], "high")

        hr.chmod(0o700)  # a folder's chmod: every file below is looked at again, none re-read
        wait_for(
            "the narrower exposure stored",
            lambda: w.stored([export])[str(export)].result.access == Access("owner", "user:root", 1, "mode"),
        )
        assert w.stop() == 0
    finally:
        w.close()
    assert len(w.alerts()) == 2  # narrowing is recorded, not alerted
    with Store.open(str(w.db)) as store, store._engine.connect() as conn:
        carried = (
            conn.execute(sa.select(scan_files.c.carried).join(files, files.c.id == scan_files.c.file_id))
            .scalars()
            .all()
        )
    assert carried == [True]  # the last record of the file (one watch session) was not a read
    log = w.alert_log.read_text(encoding="utf-8")
    assert not any(v in log for v in people.raw)


# ---- the store's exposure by access, and the report ----------------------------------------------


def test_db_exposure_by_access_and_the_report_put_the_widest_first(tree: Path, tmp_path: Path):
    from dlpscan.report.collect import Options, collect
    from dlpscan.report.render import render_html

    open_folder = folder(tree / "open", 0o755)
    closed = folder(tree / "closed", 0o700)
    for where, seed in ((open_folder, 1), (closed, 2)):
        write_master(where / "export.csv", customers(60, seed=seed))
        (where / "export.csv").chmod(0o644)
    (open_folder / "note.txt").write_text("no personal data\n", encoding="utf-8")
    db = str(tmp_path / "s.sqlite")
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(tree), "--db", db, "-q", "-j", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["db", "exposure", "--by", "access", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    rows = [
        (r["level"], r["principal"], r["files"], r["flagged_files"], r["people"])
        for r in json.loads(result.output)
    ]
    assert rows == [("public", "other", 2, 1, 60), ("owner", "user:root", 1, 1, 60)]
    result = runner.invoke(main, ["db", "files", "--db", db, "--json", "--exposure", "organisation"])
    assert [json.loads(x)["exposure"]["level"] for x in result.output.splitlines()] == ["public"]
    result = runner.invoke(main, ["db", "files", "--db", db, "--json", "--all", "--by-risk"])
    ranked = [
        (Path(x["path"]).parent.name, x["risk_score"]) for x in map(json.loads, result.output.splitlines())
    ]
    assert ranked == [("open", 50), ("closed", 12), ("open", 0)]  # the note is neither flagged nor at risk
    with Store.open(db) as store:
        data = collect(store, Options())
    assert dict(data.access_counts) == {"public": 1, "owner": 1}
    assert [(f.folder, f.level, f.principal, f.findings, f.risk) for f in data.exposed_folders] == [
        (str(open_folder), "public", "other", 1, "high"),
        (str(closed), "owner", "user:root", 1, "low"),
    ]
    out = tmp_path / "files.csv"
    result = runner.invoke(main, ["report", "--db", db, "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as f:
        exported = {Path(r["path"]).parent.name + "/" + Path(r["path"]).name: r for r in csv.DictReader(f)}
    assert [exported["open/export.csv"][c] for c in ("exposure", "exposure_principal", "risk", "risk_score")] == [
        "public", "other", "high", "50"
    ]  # fmt: skip
    assert exported["closed/export.csv"]["exposure_readers"] == "1"
    page = render_html(data, "en")
    assert 'id="chart-access"' in page and 'id="access-folders"' in page
    table = re.search(r'id="access-folders".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)]
    assert cells == [
        "open",
        "public",
        "other",
        "1",
        "high 50",
        "closed",
        "owner only",
        "user:root",
        "1",
        "low 12",
    ]


def test_the_scan_listing_shows_exposure_and_risk():
    from dlpscan.listing import exposure_text
    from dlpscan.model import FileResult, Status

    result = FileResult("a.csv", Status.SCANNED, severity="high", risk="medium", risk_score=37, stale=True)
    result.access = Access("group", "group:hr", 12, "acl")
    assert exposure_text(result) == "exposure group (group:hr, 12 accounts) · risk medium 37 · stale"
    result.access, result.stale = Access("public", "other", None, "mode"), False
    assert exposure_text(result) == "exposure public (other) · risk medium 37"


def test_a_chmod_keeps_the_files_edm_matches(tree: Path):
    """Exposure changes are stored without touching counts, fingerprints or EDM matches."""
    from test_edm_scan import Setup

    setup = Setup(tree)
    first, _ = setup.scan(report="first.jsonl")
    (setup.share / "customers.csv").chmod(0o600)
    second, _ = setup.scan(report="second.jsonl")
    before, after = first["customers.csv"], second["customers.csv"]
    assert (before["exposure"]["level"], after["exposure"]["level"]) == ("public", "owner")
    assert after["edm"] == before["edm"] and after["entities"] == before["entities"]
    with Store.open(str(setup.db)) as store:
        (stats,) = [s["stats"] for s in store.scans(1)]
        stored = store.previous(str(setup.share / "customers.csv"))
        assert (stats["unchanged"], stats["reassessed"]) == (3, 1)
        assert stored.result.access.level == "owner" and stored.result.edm.high == before["edm"]["high"]
        with store._engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM edm_rows")).scalar_one()
    assert rows == sum(r["edm"]["rows"] for r in first.values())
