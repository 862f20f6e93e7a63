"""One typed configuration: defaults < TOML file < DLPSCAN_* environment < command-line flags.

Validation errors become one `ConfigError` line naming the source and the field.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dlpscan.extract.limits import Limits

CONFIG_NAMES = ("dlpscan.toml",)


class ConfigError(Exception):
    """A configuration problem; the CLI prints the message and exits 2."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LimitsConfig(_Section):
    max_archive_total_mb: int = Field(4096, gt=0)
    max_member_mb: int = Field(1024, gt=0)
    max_compression_ratio: float = Field(200.0, gt=1)
    max_nesting_depth: int = Field(5, ge=0)
    max_members: int = Field(100_000, gt=0)
    max_cells_per_sheet: int = Field(20_000_000, gt=0)
    max_pdf_pages: int = Field(5_000, gt=0)
    max_decode_seconds: float = Field(300.0, gt=0)
    ratio_min_mb: int = Field(10, ge=0)
    max_tree_mb: int = Field(64, gt=0)
    max_structure_depth: int = Field(200, gt=0)
    max_ocr_pages: int = Field(100, ge=0)  # per document; 0 turns OCR off
    max_image_megapixels: float = Field(64.0, gt=0)


class WatchConfig(_Section):
    roots: list[str] = []
    settle_seconds: float = Field(5.0, ge=0)
    polling: bool = False
    poll_interval: float = Field(10.0, gt=0)
    alert_log: str | None = None
    syslog: str | None = None  # "udp://host:514", "tcp://host:514" or a unix socket path such as /dev/log
    webhook_url: str | None = None
    webhook_secret: str | None = None
    metrics_port: int | None = None
    catch_up: bool = True
    buffer_size: int = Field(10_000, gt=0)
    max_settle_seconds: float = Field(600.0, gt=0)  # scan a file that never stops changing after this long
    syslog_facility: Literal[
        "user", "daemon", "auth", "authpriv", "local0", "local1", "local2", "local3", "local4", "local5",
        "local6", "local7",
    ] = "local0"  # fmt: skip
    webhook_secret_file: str | None = None  # e.g. a systemd credential in $CREDENTIALS_DIRECTORY
    webhook_timeout: float = Field(10.0, gt=0)
    alert_retry_initial: float = Field(5.0, gt=0)  # first retry delay of a failed alert delivery; doubles
    alert_retry_max: float = Field(900.0, gt=0)
    root_check_seconds: float = Field(10.0, gt=0)  # how often vanished or remounted roots are looked for


class Config(_Section):
    db: str | None = None
    policy: str = "default"
    fingerprint_key: str | None = None
    key_file: str | None = None
    edm: str | None = None  # an exact-data-match index (dlpscan edm build): count the company's own customers
    edm_key: str | None = None  # the key the index was built with (never the fingerprint key)
    edm_key_file: str | None = None
    jobs: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # `scan --cluster`: a Dask scheduler (tcp://host:8786), and the time one batch of files should take
    cluster: str | None = Field(None, pattern=r"^([a-z]+://)?[^\s/]+:\d+$")
    cluster_batch_seconds: float = Field(2.0, gt=0)
    file_timeout: float = Field(300.0, gt=0)
    max_file_mb: int = Field(2048, gt=0)
    worker_memory_mb: int = Field(4096, ge=0)
    include: list[str] = []
    exclude: list[str] = []
    follow_symlinks: bool = False
    one_file_system: bool = False
    content_hash: bool = False
    engine: Literal["auto", "hyperscan", "re"] = "auto"
    recognizer_dirs: list[str] = []
    policy_dirs: list[str] = []
    nice: int = Field(0, ge=0, le=19)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    limits: LimitsConfig = LimitsConfig()
    watch: WatchConfig = WatchConfig()

    def extract_limits(self) -> Limits:
        mb = 1024 * 1024
        lim = self.limits
        return Limits(
            max_file_bytes=self.max_file_mb * mb,
            max_archive_total_bytes=lim.max_archive_total_mb * mb,
            max_member_bytes=lim.max_member_mb * mb,
            max_compression_ratio=lim.max_compression_ratio,
            max_nesting_depth=lim.max_nesting_depth,
            max_members=lim.max_members,
            max_cells_per_sheet=lim.max_cells_per_sheet,
            max_pdf_pages=lim.max_pdf_pages,
            max_decode_seconds=lim.max_decode_seconds,
            ratio_min_bytes=lim.ratio_min_mb * mb,
            max_tree_bytes=lim.max_tree_mb * mb,
            max_structure_depth=lim.max_structure_depth,
            max_ocr_pages=lim.max_ocr_pages,
            max_image_pixels=int(lim.max_image_megapixels * 1_000_000),
        )


def default_config_path() -> Path | None:
    for candidate in (
        Path.cwd() / CONFIG_NAMES[0],
        Path(platformdirs.user_config_dir("dlpscan")) / CONFIG_NAMES[0],
    ):
        if candidate.is_file():
            return candidate
    return None


def _env_overrides() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in Config.model_fields.items():
        raw = os.environ.get(f"DLPSCAN_{name.upper()}")
        if raw is None or name in ("limits", "watch"):
            continue
        out[name] = raw.split(",") if field.annotation == list[str] else raw
    return out


def _describe(exc: ValidationError, source: str) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(f"{where}: {msg}")
    return f"{source}: " + "; ".join(problems)


def load_config(path: Path | None = None, flags: dict[str, Any] | None = None) -> tuple[Config, Path | None]:
    """Build the effective config. `flags` holds only the options given on the command line."""
    source = path or default_config_path()
    data: dict[str, Any] = {}
    if source is not None:
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {source}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {source}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    try:
        Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(source))) from None
    env = _env_overrides()
    merged = {**data, **env, **{k: v for k, v in (flags or {}).items() if v is not None}}
    try:
        return Config.model_validate(merged), source
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "command line / environment")) from None


def resolve_key(config: Config, persist: bool = True) -> tuple[bytes, bool]:
    """The fingerprint key and whether the user gave it (then reports carry fingerprints).

    Without one, a random key is generated once, stored with mode 0600 and reused, so
    fingerprints in the store compare across scans. `persist=False` (nothing is stored): a fresh
    key for this run only, no key file needed.
    """
    if config.fingerprint_key:
        return config.fingerprint_key.encode("utf-8"), True
    if not persist:
        return secrets.token_hex(32).encode("utf-8"), False
    path = (
        Path(config.key_file)
        if config.key_file
        else Path(platformdirs.user_data_dir("dlpscan")) / "fingerprint.key"
    )
    try:
        return path.read_text(encoding="utf-8").strip().encode("utf-8"), False
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        raise ConfigError(f"cannot read fingerprint key file {path}: {exc.strerror}") from None
    key = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if isinstance(exc, FileExistsError) and path.is_file():  # another process created it first
            return path.read_text(encoding="utf-8").strip().encode("utf-8"), False
        raise ConfigError(
            f"cannot create the fingerprint key file {path} ({exc.strerror}): give --fingerprint-key, "
            "set DLPSCAN_FINGERPRINT_KEY, or point key_file at a writable place"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key.encode("utf-8"), False
