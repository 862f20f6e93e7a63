"""What a worker needs to scan files (ScanSettings), and the version of the code that decides findings.

Kept apart from the pipeline so that the processes that only dispatch files (the scan's parent, the
watch daemon, a cluster client) do not import the extractors and the detection engine.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dlpscan import __version__
from dlpscan.config import ConfigError
from dlpscan.detect.registry import definitions_version
from dlpscan.edm import EdmError
from dlpscan.edm.scan import EdmSettings
from dlpscan.extract.limits import Limits

if TYPE_CHECKING:
    from dlpscan.config import Config


@dataclass(frozen=True)
class ScanSettings:
    """Everything a worker needs to scan a file; picklable."""

    key: bytes
    include_fingerprints: bool = False
    policy: str = "default"
    backend: str = "auto"
    limits: Limits = field(default_factory=Limits)
    recognizer_dirs: tuple[str, ...] = ()
    policy_dirs: tuple[str, ...] = ()
    content_hash: bool = False  # also hash each file, so rescans can tell changes that keep size and mtime
    edm: EdmSettings | None = None  # exact data match against a customer index (docs/edm.md)

    @classmethod
    def from_config(cls, config: Config, key: bytes, explicit_key: bool) -> ScanSettings:
        """Raises ConfigError (one line) when the EDM index or its key do not fit."""
        edm = None
        if config.edm:
            try:
                edm = EdmSettings.open(
                    config.edm, config.edm_key, config.edm_key_file, config.fingerprint_key
                )
            except EdmError as exc:
                raise ConfigError(str(exc)) from None
        return cls(
            key=key,
            include_fingerprints=explicit_key,
            policy=config.policy,
            backend=config.engine,
            limits=config.extract_limits(),
            recognizer_dirs=tuple(config.recognizer_dirs),
            policy_dirs=tuple(config.policy_dirs),
            content_hash=config.content_hash,
            edm=edm,
        )

    def detector_version(self) -> str:
        """Changes whenever a rescan could give a different answer: code, definitions, key, and the
        EDM evidence collected (its key and types; not the index build, see `runner.refresh`)."""
        key_id = hashlib.sha256(b"dlpscan-key-id" + self.key).hexdigest()[:8]
        defs = definitions_version([Path(d) for d in self.recognizer_dirs])
        version = f"{__version__}-{code_version()}+{defs}+{key_id}"
        if self.edm is not None:
            version += "+" + hashlib.sha256(self.edm.evidence_tag.encode()).hexdigest()[:8]
        return version


# The code that decides findings: reading files, detecting, aggregating (not reports or the store).
_PACKAGE = Path(__file__).resolve().parent
_FINDING_CODE = ("detect", "extract", "aggregate.py", "entities.py", "model.py", "pipeline.py", "edm")


@functools.cache
def code_version(package: Path = _PACKAGE) -> str:
    """A digest of the source that decides findings, so an upgrade that changes detection rescans
    files instead of silently keeping their old results (the package version alone lags the code)."""
    digest = hashlib.sha256()
    for name in _FINDING_CODE:
        part = package / name
        for path in sorted(part.rglob("*")) if part.is_dir() else [part]:
            if path.suffix in (".py", ".pyx", ".pxd"):
                digest.update(path.relative_to(package).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes, streamed; None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
