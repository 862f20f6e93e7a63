"""Why a document could not be (fully) read. The pipeline maps each to a report status."""

from __future__ import annotations

from dlpscan.model import Status


class ExtractError(Exception):
    """The document is unreadable (corrupt, truncated, unsupported). Reported as `error`.

    Messages must never contain document content: say what failed, not what was read.
    """

    status = Status.ERROR


class EncryptedError(ExtractError):
    """Password-protected or encrypted content. Reported as `encrypted`."""

    status = Status.ENCRYPTED


class LimitExceeded(ExtractError):
    """A configured safety limit was hit (size, ratio, depth, pages, cells, time). Reported as `skipped`."""

    status = Status.SKIPPED


class Unsupported(ExtractError):
    """A format we recognise but cannot read (e.g. image-only PDF). Reported as `skipped`."""

    status = Status.SKIPPED
