"""The OCR engine: RapidOCR (PP-OCR models shipped inside its wheel) on onnxruntime, offline.

Loaded lazily, once per process (a worker keeps it for every file it reads). rapidocr downloads a
model only when no `model_path` is configured and the file under `model_root_dir` is missing or
fails its SHA-256 check; here every model path is pinned to the files inside the installed wheel,
they are checked to exist before the engine is built, and the recogniser must carry its character
table in the model (otherwise rapidocr would fetch a dictionary): so no configuration reaches the
network. Without the `ocr` extra, `available()` is False and readers report what they could not read.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlpscan.extract.errors import Unsupported

if TYPE_CHECKING:
    from PIL import Image

INSTALL_HINT = "install the OCR extra to read it: pip install 'dlpscan[ocr]'"
# The models of rapidocr 3.10's default configuration (PP-OCRv6 small detection and recognition,
# the mobile 0/180-degree direction classifier), all inside the wheel.
MODELS = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}
# Recognised text below this score is dropped by the engine itself (noise, not text). Text between
# this and the scanner's own threshold is kept: it still counts when a checksum confirms a value.
ENGINE_MIN_SCORE = 0.3
# Images are scaled down to this many pixels on their long side before OCR (rapidocr's default):
# an A4 page at about 170 dpi, a phone photo of a document at a quarter of its pixels.
MAX_SIDE = 2000


class OcrUnavailable(Unsupported):
    """The OCR extra is not installed (or its models are missing): reported as `skipped`."""


@dataclass(frozen=True, slots=True)
class TextItem:
    """One run of text the engine recognised: its box (4 corners, clockwise from top-left, in image
    pixels), the text, and the engine's confidence in [0, 1]."""

    box: tuple[tuple[float, float], ...]
    text: str
    confidence: float


@functools.cache
def available() -> bool:
    """Whether the OCR extra is installed (without importing it)."""
    return all(importlib.util.find_spec(m) is not None for m in ("rapidocr", "onnxruntime", "PIL"))


def model_paths() -> dict[str, Path]:
    """The pinned model files inside the installed rapidocr wheel."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise OcrUnavailable(f"OCR not installed; {INSTALL_HINT}")
    root = Path(spec.origin).parent / "models"
    return {stage: root / name for stage, name in MODELS.items()}


@functools.cache
def engine():
    """The process's RapidOCR engine, built on first use."""
    if not available():
        raise OcrUnavailable(f"OCR not installed; {INSTALL_HINT}")
    paths = model_paths()
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise OcrUnavailable(f"OCR models missing from the rapidocr package ({', '.join(missing)})")
    from rapidocr import RapidOCR

    params: dict[str, object] = {
        "Global.log_level": "critical",
        "Global.text_score": ENGINE_MIN_SCORE,
        "Global.max_side_len": MAX_SIDE,
        # one thread per engine: the scanner runs one worker process per core
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    for stage, path in paths.items():
        params[f"{stage}.model_path"] = str(path)
    ocr = RapidOCR(params=params)
    if not ocr._load_rec_model().session.have_key():
        raise OcrUnavailable("OCR recognition model carries no character table")
    return ocr


def recognise(image: Image.Image, use_cls: bool = True) -> list[TextItem]:
    """Text items of an RGB image, in the engine's reading order. `use_cls` turns upside-down runs."""
    result = engine()(image, use_cls=use_cls)
    if not len(result):
        return []
    return [
        TextItem(tuple((float(x), float(y)) for x, y in box), text, float(score))
        for box, text, score in zip(result.boxes.tolist(), result.txts, result.scores, strict=True)
    ]
