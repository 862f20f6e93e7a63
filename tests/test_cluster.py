"""`dlpscan scan --cluster`: real Dask schedulers and worker processes on 127.0.0.1, a real
PostgreSQL store (a schema per test), the real `dlpscan` command, exact report lines."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import pg_schema_url
from test_scan_cli import DLPSCAN, KEY, KEY_DIR, ROOT, lines, make_people, run, write_csv

distributed = pytest.importorskip("distributed", reason="the cluster extra (distributed) is not installed")
pytestmark = pytest.mark.postgres
DASK = [sys.executable, "-m", "dask"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], object], what: str, seconds: float = 90.0) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def started(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A process of our own (its own session), stopped at the end: SIGTERM, then SIGKILL."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def client(address: str, workers: int):
    c = distributed.Client(address, timeout=60, set_as_default=False)
    c.wait_for_workers(workers, timeout=120)
    return c


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`dlpscan cluster up`: a scheduler and two worker processes, shared by this module's tests."""
    port, dash = free_port(), free_port()
    log = tmp_path_factory.mktemp("cluster") / "up.log"
    command = [
        *DLPSCAN,
        "cluster",
        "up",
        "--workers",
        "2",
        "--port",
        str(port),
        "--dashboard-port",
        str(dash),
    ]
    with started(command, log) as proc:
        wait_for(lambda: "workers 2" in log.read_text() or proc.poll() is not None, "cluster up", 120)
        assert proc.poll() is None, log.read_text()
        address = f"tcp://127.0.0.1:{port}"
        c = client(address, 2)
        try:
            yield {"address": address, "dashboard": f"http://127.0.0.1:{dash}", "client": c, "log": log}
        finally:
            c.close()


@pytest.fixture
def pg() -> Iterator[str]:
    with pg_schema_url() as url:
        yield url


def pg_rows(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def stored(url: str) -> int:
    """Files recorded so far (0 while the scan has not created the tables yet)."""
    import psycopg

    try:
        return pg_rows(url, "SELECT count(*) FROM scan_files")[0][0]
    except psycopg.errors.UndefinedTable:
        return 0


SMALL_BATCHES = {"DLPSCAN_CLUSTER_BATCH_SECONDS": "0.2"}  # results stream in, a few files at a time


def scan_args(*args: str) -> list[str]:
    return ["scan", *args, "--fingerprint-key", KEY, "--format", "jsonl"]


def people_tree(root: Path, files: int, rows: int, big: bool = False) -> Path:
    """`files` lists of `rows` people, then (last in walk order) one list that takes longer to read
    than BIG_TIMEOUT: it keeps a batch in flight until the time limit cuts it (`partial`)."""
    root.mkdir()
    for i in range(files):
        write_csv(root / f"export_{i:04d}.csv", make_people(rows, seed=i))
    if big:  # 66 MB, 1.6 million rows: seconds at 200,000 rows/s (160k rows once sufficed, at 2 MB/s;
        # 800k did until a worker read 800k rows in under the 3 s the resumed scan then allowed)
        write_csv(root / "zz_big.csv", make_people(4000, seed=10_000))
        with (root / "zz_big.csv").open("rb") as f:
            f.readline()
            rows = f.read()
        with (root / "zz_big.csv").open("ab") as f:
            f.write(rows * 399)
    return root


# --file-timeout: the big list keeps a batch in flight for 16 s (the soft limit) while a scan is
# killed; a resumed scan cuts it at 2.4 s and reports it `partial`
BIG_TIMEOUT, RESUME_TIMEOUT = "20", "1.5"


def sorted_lines(report: Path) -> list[str]:
    return sorted(report.read_text(encoding="utf-8").splitlines(), key=lambda line: json.loads(line)["path"])


def test_a_cluster_scan_reports_exactly_what_a_local_scan_does(
    tmp_path: Path, cluster: dict, pg: str
) -> None:
    tree = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", tree)
    local, remote = tmp_path / "local.jsonl", tmp_path / "cluster.jsonl"
    run(
        "scan",
        str(tree),
        "--db",
        str(tmp_path / "s.sqlite"),
        "-o",
        str(local),
        "--fingerprint-key",
        KEY,
        "-j",
        "2",
    )
    proc = run(
        "scan",
        str(tree),
        "--db",
        pg,
        "-o",
        str(remote),
        "--fingerprint-key",
        KEY,
        "--cluster",
        cluster["address"],
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        f"cluster {cluster['address']}: 2 workers, 2 threads; dashboard {cluster['dashboard']}/status"
        in proc.stderr
    )
    assert sorted_lines(remote) == sorted_lines(local)
    assert len(sorted_lines(remote)) == 6  # 4 files and the 2 members of waybills.zip
    [(scan_id, status, options)] = pg_rows(pg, "SELECT id, status, options FROM scans")
    assert (status, options["cluster"]) == ("completed", cluster["address"])
    assert pg_rows(pg, f"SELECT count(*) FROM scan_files WHERE scan_id = {scan_id}") == [(6,)]
    # the key reached the workers in a plugin: it is in no log and on no dashboard page
    workers = [urllib.parse.quote(w, safe="") for w in cluster["client"].scheduler_info()["workers"]]
    pages = ["/info/main/workers.html", "/info/main/logs.html", "/status"]
    pages += [f"/info/{kind}/{w}.html" for w in workers for kind in ("worker", "logs", "call-stacks")]
    for page in pages:
        with urllib.request.urlopen(cluster["dashboard"] + page, timeout=30) as r:
            assert KEY.encode() not in r.read()
    # what /json/identity.json serves (read through the client: distributed 2026.8's page fails to
    # encode the tuple keys of worker metrics once tasks have run)
    identity = cluster["client"].run_on_scheduler(lambda dask_scheduler: repr(dask_scheduler.identity()))
    assert KEY not in identity
    assert KEY not in cluster["log"].read_text() and KEY not in proc.stderr

    again = tmp_path / "again.jsonl"  # a rescan takes unchanged files from the store, as locally
    proc = run(
        "scan",
        str(tree),
        "--db",
        pg,
        "-o",
        str(again),
        "--fingerprint-key",
        KEY,
        "--cluster",
        cluster["address"],
    )
    assert sorted_lines(again) == sorted_lines(local)
    [(stats,)] = pg_rows(pg, "SELECT stats FROM scans ORDER BY id DESC LIMIT 1")
    assert (stats["files"], stats["unchanged"]) == (5, 4)


def test_a_sqlite_store_or_a_missing_extra_with_cluster_is_a_configuration_error(tmp_path: Path) -> None:
    proc = run(
        "scan", "examples", "--db", str(tmp_path / "s.sqlite"), "--cluster", "tcp://127.0.0.1:1", check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Error: --cluster needs a PostgreSQL store: give --db postgresql://user@host/db (or --no-store), not a SQLite file"
    ]
    config = tmp_path / "dlpscan.toml"
    config.write_text('cluster = "tcp://127.0.0.1:1"\n', encoding="utf-8")
    proc = run("--config", str(config), "scan", "examples", "--db", str(tmp_path / "s.sqlite"), check=False)
    assert proc.returncode == 2 and "--cluster needs a PostgreSQL store" in proc.stderr
    config.write_text('cluster = "not an address"\n', encoding="utf-8")
    proc = run("--config", str(config), "scan", "examples", check=False)
    assert proc.returncode == 2 and "cluster: String should match pattern" in proc.stderr


def test_a_worker_killed_mid_scan_has_its_files_rescanned_and_recorded_once(
    tmp_path: Path, cluster: dict, pg: str
) -> None:
    tree = people_tree(tmp_path / "share", 60, 200)
    report = tmp_path / "r.jsonl"
    c = cluster["client"]
    pids = c.run(os.getpid)
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(KEY_DIR / "fingerprint.key"), **SMALL_BATCHES}
    scan = subprocess.Popen(
        [*DLPSCAN, *scan_args(str(tree), "--db", pg, "-o", str(report), "--cluster", cluster["address"], "--file-timeout", BIG_TIMEOUT)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    victim = sorted(pids)[0]
    wait_for(lambda: report.exists() and report.read_text().count("\n") >= 5, "first results")
    wait_for(lambda: c.processing(workers=[victim])[victim], "a batch running on the victim")
    os.kill(pids[victim], signal.SIGKILL)
    _, err = scan.communicate(timeout=240)
    assert scan.returncode == 0, err
    got = [json.loads(x) for x in report.read_text(encoding="utf-8").splitlines()]
    assert len(got) == 60 and len({g["path"] for g in got}) == 60
    assert {g["status"] for g in got} == {"scanned"}
    assert {g["entities"]["CN_RESIDENT_ID"]["distinct"] for g in got} == {200}
    [(scan_id,)] = pg_rows(pg, "SELECT id FROM scans")
    assert pg_rows(
        pg, f"SELECT count(*), count(DISTINCT file_id) FROM scan_files WHERE scan_id = {scan_id}"
    ) == [(60, 60)]
    assert pg_rows(pg, "SELECT count(*) FROM files") == [(60,)]
    wait_for(lambda: len(c.scheduler_info()["workers"]) == 2, "the nanny to restart the worker", 120)


def test_resume_after_the_client_is_killed(tmp_path: Path, cluster: dict, pg: str) -> None:
    tree = people_tree(tmp_path / "share", 210, 3, big=True)
    report = tmp_path / "first.jsonl"
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(KEY_DIR / "fingerprint.key"), **SMALL_BATCHES}
    scan = subprocess.Popen(
        [*DLPSCAN, *scan_args(str(tree), "--db", pg, "-o", str(report), "--cluster", cluster["address"], "--file-timeout", BIG_TIMEOUT)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(lambda: stored(pg) >= 200, "a stored batch")
    assert scan.poll() is None, "the scan ended before it could be killed"
    scan.kill()
    scan.wait(30)
    [(scan_id, status)] = pg_rows(pg, "SELECT id, status FROM scans")
    assert status == "running" and 200 <= stored(pg) < 211
    rest = tmp_path / "rest.jsonl"
    proc = run(
        *scan_args(str(tree), "--db", pg, "-o", str(rest), "--cluster", cluster["address"], "--resume"),
        "--file-timeout",
        RESUME_TIMEOUT,
    )
    assert proc.returncode == 0 and f"resuming scan {scan_id}" in proc.stderr
    second = lines(rest)  # a resumed scan is one scan: its report covers every file
    assert (
        len(second) == 211 and sorted(g["status"] for g in second.values()) == ["partial"] + ["scanned"] * 210
    )
    assert pg_rows(pg, "SELECT id, status FROM scans") == [(scan_id, "completed")]
    assert pg_rows(pg, "SELECT count(*), count(DISTINCT file_id) FROM scan_files") == [(211, 211)]


def test_the_watch_daemon_reads_changed_files_on_the_cluster(tmp_path: Path, cluster: dict, pg: str) -> None:
    from test_watch import People, Watch, clean

    root = tmp_path / "share"
    root.mkdir()
    w = Watch(tmp_path, root)
    w.db = pg  # type: ignore[assignment]
    w.write_config(top={"cluster": cluster["address"]})
    try:
        w.start()
        (root / "bulk.csv").write_text(People(5).bulk(), encoding="utf-8")
        (root / "notes.txt").write_text(clean(1), encoding="utf-8")
        wait_for(lambda: len(w.stored([root / "bulk.csv", root / "notes.txt"])) == 2, "both files recorded")
        plugins = cluster["client"].run(lambda dask_worker: sorted(dask_worker.plugins))
        assert all(any(p.startswith("dlpscan-scan-") for p in names) for names in plugins.values())
        wait_for(w.alerts, "the alert")
        assert w.stop() == 0
        assert [a["path"] for a in w.alerts()] == [str(root / "bulk.csv")]
        assert w.internal_errors() == []
    finally:
        w.close()


def unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not unshare_works(), reason="needs `unshare -m` (root) to hide a folder from one worker")
def test_a_worker_that_cannot_see_the_files_reports_each_as_an_error(tmp_path: Path, pg: str) -> None:
    tree = tmp_path / "share"
    shutil.copytree(ROOT / "examples", tree)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    # the worker runs in a mount namespace of its own where an empty tmpfs hides the shared folder
    hidden = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs tmpfs "$0" && exec "$@"', str(tmp_path)]
    worker = [
        *hidden,
        *DASK,
        "worker",
        address,
        "--nthreads",
        "1",
        "--no-dashboard",
        "--local-directory",
        "/tmp",
    ]
    with (
        started([*DASK, "scheduler", "--port", str(port), "--no-dashboard"], tmp_path.parent / "sched.log"),
        started(worker, tmp_path.parent / "worker.log"),
    ):
        client(address, 1).close()
        report = tmp_path.parent / "blind.jsonl"
        proc = run(
            "scan", str(tree), "--db", pg, "-o", str(report), "--cluster", address, "--fingerprint-key", KEY
        )
    assert proc.returncode == 0, proc.stderr
    got = lines(report)
    assert sorted(got) == sorted(str(tree / p.name) for p in (ROOT / "examples").iterdir())
    host = socket.gethostname()
    assert {(g["status"], g["error"]) for g in got.values()} == {
        (
            "error",
            f"not found on cluster worker {host}: deleted since the walk, or its folder is not mounted "
            "there (every worker must see the scanned folders at the client's path)",
        )
    }
    assert pg_rows(pg, "SELECT status, count(*) FROM scan_files GROUP BY status") == [("error", 4)]


def test_a_worker_on_another_dlpscan_version_is_refused(tmp_path: Path, pg: str) -> None:
    """Its findings could differ from this client's: the scan stops with one clear line, exit 2."""
    other = tmp_path / "other-version"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import dlpscan\ndlpscan.__version__ = '0.0.0-other'\n", "utf-8")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    worker = [*DASK, "worker", address, "--nthreads", "1", "--no-dashboard", "--local-directory", "/tmp"]
    env = {**os.environ, "PYTHONPATH": str(other)}
    with (
        started([*DASK, "scheduler", "--port", str(port), "--no-dashboard"], tmp_path / "sched.log"),
        started(worker, tmp_path / "worker.log", env),
    ):
        client(address, 1).close()
        proc = run(
            "scan",
            str(ROOT / "examples"),
            "--db",
            pg,
            "--cluster",
            address,
            "--fingerprint-key",
            KEY,
            check=False,
        )
    assert proc.returncode == 2, proc.stderr
    assert "a cluster worker runs dlpscan 0.0.0-other" in proc.stderr
    assert "install the same dlpscan and recognizers on every host" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_lost_scheduler_stops_the_scan_with_its_own_exit_code_and_resume_continues(
    tmp_path: Path, cluster: dict, pg: str
) -> None:
    tree = people_tree(tmp_path / "share", 210, 3, big=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = [*DASK, "scheduler", "--port", str(port), "--no-dashboard"]
    worker = [*DASK, "worker", address, "--nthreads", "2", "--no-dashboard"]
    report = tmp_path / "first.jsonl"
    env = {**os.environ, "DLPSCAN_KEY_FILE": str(KEY_DIR / "fingerprint.key"), **SMALL_BATCHES}
    with started(scheduler, tmp_path / "sched.log") as sched, started(worker, tmp_path / "worker.log"):
        client(address, 1).close()
        scan = subprocess.Popen(
            [*DLPSCAN, *scan_args(str(tree), "--db", pg, "-o", str(report), "--cluster", address, "--file-timeout", BIG_TIMEOUT)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for(lambda: stored(pg) >= 200, "a stored batch")
        assert scan.poll() is None, "the scan ended before its scheduler could be killed"
        os.killpg(sched.pid, signal.SIGKILL)
        _, err = scan.communicate(timeout=120)
    assert scan.returncode == 5, err
    assert err.splitlines()[-1] == (
        f"dlpscan: error: lost the connection to the Dask scheduler at {address}; finished files are "
        "stored, rerun with --resume to continue"
    )
    assert "Traceback" not in err
    [(scan_id, status)] = pg_rows(pg, "SELECT id, status FROM scans")
    assert status == "interrupted"
    assert 200 <= stored(pg) < 211
    rest = tmp_path / "rest.jsonl"  # on another cluster that sees the same files
    proc = run(
        *scan_args(
            str(tree),
            "--db",
            pg,
            "-o",
            str(rest),
            "--cluster",
            cluster["address"],
            "--resume",
            "--file-timeout",
            RESUME_TIMEOUT,
        )
    )
    assert proc.returncode == 0, proc.stderr
    assert len(lines(rest)) == 211
    assert pg_rows(pg, "SELECT id, status FROM scans") == [(scan_id, "completed")]
    assert pg_rows(pg, "SELECT count(*), count(DISTINCT file_id) FROM scan_files") == [(211, 211)]


def test_the_children_of_an_abandoned_scan_end_once_idle(tmp_path: Path) -> None:
    """A client killed mid-scan never unregisters its plugin: its children end after IDLE_SECONDS."""
    import asyncio
    import threading

    from dlpscan.cluster.worker import IDLE_SECONDS, ScanPlugin, WorkerLimits
    from dlpscan.pipeline import ScanSettings
    from dlpscan.workers import Task

    sample = tmp_path / "a.csv"
    write_csv(sample, make_people(5, seed=1))
    plugin = ScanPlugin("dlpscan-scan-test", WorkerLimits(ScanSettings(key=b"k"), 60.0))

    async def scenario() -> None:
        plugin.setup(None)
        with plugin.pool() as (pool, warm):
            [(_, results)] = list(pool.run(iter([Task(0, str(sample), "a.csv")])))
        assert not warm and results[0].status == "scanned" and results[0].records == 5
        child = pool._workers[0].process
        plugin._reap()
        assert child.is_alive()  # used just now
        plugin._used[threading.get_ident()] -= IDLE_SECONDS + 1
        plugin._reap()
        assert not child.is_alive()
        with plugin.pool() as (_, warm):
            assert not warm  # work for the scan again: a new child
        plugin.teardown(None)
        assert not plugin._pools

    asyncio.run(scenario())
