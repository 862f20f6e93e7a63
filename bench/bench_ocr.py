"""OCR benchmarks: generates its inputs in a temporary folder and prints Markdown tables.

    .venv/bin/python bench/bench_ocr.py            # all sections (about 10 minutes on 2 busy cores)
    .venv/bin/python bench/bench_ocr.py --quick    # fewer pages and files, a smoke run

Sections:
  dpi       image-only PDF pages (A4 registers scanned at 300 dpi, 10.5 pt text, photo-like) read at
            several rendering resolutions: recall of IDs, mobiles and records against the truth, CPU s/page
  speed     images/s and pages/s per core: ID-card photos, list screenshots, phone photos of pages,
            image-only PDF pages at the chosen resolution
  memory    peak RSS of a process that OCRs images, against one that reads the same count of CSVs
  mixed     a mixed corpus (CSV, xlsx, docx, text PDFs, a few images and scans): share of CPU time in OCR
  no-images a corpus without images, with the OCR hooks and with them switched off: the ratio
  confidence  badly degraded list screenshots: how often a mobile read at each OCR confidence is wrong
              (what LOW_CONFIDENCE in dlpscan/detect/ocr.py rests on)

CPU time is `time.process_time()` of this process (onnxruntime runs one thread per engine, as in
a worker), so other jobs on the shared machine do not count against it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import ocr_samples as samples

from dlpscan.detect import ocr as ocr_findings
from dlpscan.extract import images, ocr
from dlpscan.pipeline import FileScanner, ScanSettings

ROWS_PER_PAGE = 25


def cpu(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def scan_all(scanner: FileScanner, paths: list[Path]) -> list:
    return [r for p in paths for r in scanner.scan_path(p, p.name)]


def register_pdfs(
    folder: Path, pages: int, point_size: float = 10.5
) -> tuple[list[Path], list[samples.Person]]:
    """One PDF per scanned page (so results are per page), with the people on each."""
    persons = samples.people(pages * ROWS_PER_PAGE, seed=99)
    paths = []
    for n in range(pages):
        page = samples.scanned_page(
            persons[n * ROWS_PER_PAGE : (n + 1) * ROWS_PER_PAGE], point_size=point_size
        )
        photo = samples.photo_like(page, seed=n, angle=0.6, quality=60)
        paths.append(samples.image_pdf([photo], folder / f"register-{point_size}-{n}.pdf", dpi=300))
    return paths, persons


def bench_dpi(folder: Path, pages: int) -> list[str]:
    scanner = FileScanner(ScanSettings(key=b"bench"))
    out = [
        "| text | rendering | long side (px) | IDs found | mobiles found | records | CPU s/page |",
        "|---|---|---|---|---|---|---|",
    ]
    saved = (images.PDF_DPI, ocr.MAX_SIDE)
    try:
        for point_size, dpi in [(10.5, d) for d in (100, 150, 200, 300)] + [(8, d) for d in (100, 150, 200)]:
            paths, persons = register_pdfs(folder, pages, point_size)
            images.PDF_DPI, ocr.MAX_SIDE = dpi, 4000
            ocr.engine.cache_clear()
            scan_all(scanner, paths[:1])  # build the engine outside the clock
            seconds, results = cpu(lambda paths=paths: scan_all(scanner, paths))
            ids = sum(
                r.entities.get("CN_RESIDENT_ID").distinct for r in results if "CN_RESIDENT_ID" in r.entities
            )
            mobiles = sum(r.entities["CN_MOBILE"].distinct for r in results if "CN_MOBILE" in r.entities)
            records = sum(r.records for r in results)
            n = len(persons)
            out.append(
                f"| {point_size} pt | {dpi} dpi | {round(842 * dpi / 72)} | {ids}/{n} | {mobiles}/{n} | {records}/{n} "
                f"| {seconds / pages:.2f} |"
            )
    finally:
        images.PDF_DPI, ocr.MAX_SIDE = saved
        ocr.engine.cache_clear()
    return out


def bench_speed(folder: Path, count: int) -> list[str]:
    persons = samples.people(count * 5, seed=7)
    rng = random.Random(3)
    sets = {
        "ID-card photo (860x540 JPEG)": [
            samples.save(samples.photo_like(samples.id_card(p), seed=i), folder / f"id-{i}.jpg")
            for i, p in enumerate(persons[:count])
        ],
        "bank-card photo (856x540 JPEG)": [
            samples.save(
                samples.photo_like(samples.bank_card_image(samples.bank_card(rng)), seed=i),
                folder / f"card-{i}.jpg",
            )
            for i in range(count)
        ],
        "list screenshot (1200x456 PNG, 5 rows)": [
            samples.save(samples.customer_list(persons[i * 5 : i * 5 + 5]), folder / f"list-{i}.png")
            for i in range(count)
        ],
        "phone photo of an A4 page (2480x3508 JPEG)": [
            samples.save(
                samples.photo_like(samples.scanned_page(persons[:ROWS_PER_PAGE]), seed=i, angle=1.5),
                folder / f"photo-{i}.jpg",
            )
            for i in range(max(2, count // 4))
        ],
        f"image-only PDF page (A4, rendered at {images.PDF_DPI} dpi)": register_pdfs(
            folder, max(2, count // 4)
        )[0],
    }
    scanner = FileScanner(ScanSettings(key=b"bench"))
    scan_all(scanner, sets["ID-card photo (860x540 JPEG)"][:1])  # engine built outside the clock
    out = ["| input | files | per core per second | CPU s each |", "|---|---|---|---|"]
    for name, paths in sets.items():
        seconds, results = cpu(lambda paths=paths: scan_all(scanner, paths))
        assert all(r.status == "scanned" for r in results), [r.reason for r in results]
        out.append(f"| {name} | {len(paths)} | {len(paths) / seconds:.2f} | {seconds / len(paths):.2f} |")
    return out


MEMORY_SCRIPT = """
import sys
from pathlib import Path
from dlpscan.pipeline import FileScanner, ScanSettings
scanner = FileScanner(ScanSettings(key=b"bench"))
for p in sys.argv[1:]:
    scanner.scan_path(Path(p), p)
status = Path("/proc/self/status").read_text()
print(next(int(line.split()[1]) // 1024 for line in status.splitlines() if line.startswith("VmHWM")))
"""


def bench_memory(folder: Path, count: int) -> list[str]:
    persons = samples.people(count * 5, seed=11)
    pictures = [
        samples.save(
            samples.photo_like(samples.scanned_page(persons[:ROWS_PER_PAGE]), seed=i), folder / f"m-{i}.jpg"
        )
        for i in range(count)
    ]
    csvs = []
    for i in range(count):
        path = folder / f"m-{i}.csv"
        path.write_text(
            "姓名,身份证号,手机\n" + "".join(f"{p.name},{p.id},{p.mobile}\n" for p in persons), "utf-8"
        )
        csvs.append(path)
    out = ["| process reads | files | peak RSS (MB) |", "|---|---|---|"]
    for name, paths in (("CSV files (no OCR)", csvs), ("phone photos of A4 pages (OCR)", pictures)):
        proc = subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT, *map(str, paths)],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(f"| {name} | {len(paths)} | {proc.stdout.split()[-1]} |")
    return out


def text_corpus(folder: Path, files: int) -> list[Path]:
    """CSV, xlsx, docx, pptx and text-layer PDFs with customer rows, no images."""
    import docx
    import openpyxl
    import pptx
    from reportlab.pdfgen import canvas

    persons = samples.people(200, seed=5)
    paths: list[Path] = []
    for i in range(files):
        kind = ("csv", "xlsx", "docx", "pptx", "pdf")[i % 5]
        path = folder / f"t-{i}.{kind}"
        rows = [(p.name, p.id, p.mobile) for p in persons[(i * 7) % 150 : (i * 7) % 150 + 50]]
        if kind == "csv":
            path.write_text("姓名,身份证号,手机\n" + "".join(",".join(r) + "\n" for r in rows), "utf-8")
        elif kind == "xlsx":
            book = openpyxl.Workbook()
            for r in [("姓名", "身份证号", "手机"), *rows]:
                book.active.append(r)
            book.save(path)
        elif kind == "docx":
            document = docx.Document()
            for r in rows:
                document.add_paragraph(" ".join(r))
            document.save(path)
        elif kind == "pptx":
            deck = pptx.Presentation()
            slide = deck.slides.add_slide(deck.slide_layouts[5])
            slide.shapes.title.text = "\n".join(" ".join(r[1:]) for r in rows[:10])
            deck.save(path)
        else:
            c = canvas.Canvas(str(path))
            for n, r in enumerate(rows):
                c.drawString(40, 800 - 14 * n, f"{r[1]} {r[2]}")
            c.save()
        paths.append(path)
    return paths


def bench_mixed(folder: Path, files: int) -> list[str]:
    import docx

    corpus = text_corpus(folder, files)
    persons = samples.people(40, seed=21)
    card = samples.save(samples.photo_like(samples.id_card(persons[0]), seed=5), folder / "card.jpg")
    with_picture = docx.Document()
    with_picture.add_paragraph("身份证复印件")
    with_picture.add_picture(str(card))
    with_picture.save(folder / "x-with-picture.docx")
    corpus.append(folder / "x-with-picture.docx")
    corpus += [
        samples.save(samples.photo_like(samples.id_card(p), seed=i), folder / f"x-id-{i}.jpg")
        for i, p in enumerate(persons[1 : 1 + max(1, files // 25)])
    ]
    corpus += register_pdfs(folder, max(1, files // 50))[0]
    spent = {"ocr": 0.0}
    recognise = ocr.recognise

    def timed(image, use_cls=True):
        start = time.process_time()
        try:
            return recognise(image, use_cls)
        finally:
            spent["ocr"] += time.process_time() - start

    scanner = FileScanner(ScanSettings(key=b"bench"))
    scan_all(scanner, [card])  # engine built outside the clock
    ocr.recognise = timed
    try:
        seconds, _ = cpu(lambda: scan_all(scanner, corpus))
    finally:
        ocr.recognise = recognise
    images_n = sum(1 for p in corpus if p.name.startswith("x-") or p.name.startswith("register"))
    return [
        "| corpus | files | of them read by OCR | CPU s total | CPU s in OCR | OCR share |",
        "|---|---|---|---|---|---|",
        f"| mixed | {len(corpus)} | {images_n} | {seconds:.1f} | {spent['ocr']:.1f} | {spent['ocr'] / seconds:.0%} |",
    ]


def bench_no_images(folder: Path, files: int, repeats: int) -> list[str]:
    corpus = text_corpus(folder, files)
    scanner = FileScanner(ScanSettings(key=b"bench"))
    embedded, tally_filter = images.embedded_images, ocr_findings.OcrTally.filter

    def hooks_off() -> None:
        images.embedded_images = lambda src, ctx: iter(())
        ocr_findings.OcrTally.filter = lambda self, block, findings: findings

    def hooks_on() -> None:
        images.embedded_images, ocr_findings.OcrTally.filter = embedded, tally_filter

    scan_all(scanner, corpus)  # warm caches
    times: dict[str, list[float]] = {"on": [], "off": []}
    try:
        for _ in range(repeats):  # interleaved, so load changes hit both alike
            for mode, switch in (("off", hooks_off), ("on", hooks_on)):
                switch()
                times[mode].append(cpu(lambda: scan_all(scanner, corpus))[0])
    finally:
        hooks_on()
    on, off = min(times["on"]), min(times["off"])
    return [
        "| corpus without images | files | CPU s, OCR hooks off | CPU s, OCR hooks on | ratio on/off |",
        "|---|---|---|---|---|",
        f"| csv, xlsx, docx, pptx, text PDF | {len(corpus)} | {off:.2f} | {on:.2f} | {on / off:.3f} |",
    ]


def bench_confidence(folder: Path, count: int) -> list[str]:
    """How often a mobile number read at a given OCR confidence is misread, on badly degraded lists."""
    import re

    from PIL import ImageFilter

    persons = samples.people(count * 5, seed=31)
    truth = {p.mobile for p in persons}
    readings: list[tuple[float, bool]] = []
    for i in range(count):
        img = samples.customer_list(persons[i * 5 : i * 5 + 5]).resize((600, 228))  # small text
        for blur, quality in ((1.2, 20), (1.6, 15), (2.0, 10)):
            worn = samples.photo_like(
                img.filter(ImageFilter.GaussianBlur(blur)), seed=i, angle=1.5, quality=quality
            )
            for item in ocr.recognise(worn.convert("RGB")):
                for run in re.findall(r"(?<!\d)1\d{10}(?!\d)", item.text.replace(" ", "")):
                    readings.append((item.confidence, run in truth))
    out = ["| OCR confidence | mobiles read | misread | misread share |", "|---|---|---|---|"]
    bounds = (0.0, 0.7, 0.8, ocr_findings.LOW_CONFIDENCE, 0.9, 0.95, 1.01)
    for lo, hi in itertools.pairwise(bounds):
        got = [ok for c, ok in readings if lo <= c < hi]
        wrong = got.count(False)
        share = f"{wrong / len(got):.0%}" if got else "-"
        out.append(f"| {lo:.2f}-{min(hi, 1):.2f} | {len(got)} | {wrong} | {share} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["dpi", "speed", "memory", "mixed", "no-images", "confidence"])
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if samples.cjk_font_path() is None or not ocr.available():
        sys.exit("needs a CJK font (fonts-noto-cjk) and the ocr extra")
    q = args.quick
    sections = {
        "dpi": lambda d: bench_dpi(d, 2 if q else 6),
        "speed": lambda d: bench_speed(d, 4 if q else 16),
        "memory": lambda d: bench_memory(d, 2 if q else 8),
        "mixed": lambda d: bench_mixed(d, 50 if q else 200),
        "no-images": lambda d: bench_no_images(d, 50 if q else 200, 2 if q else 5),
        "confidence": lambda d: bench_confidence(d, 4 if q else 12),
    }
    lines = [
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}"
    ]
    for name, run in sections.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix=f"dlpscan-bench-{name}-") as tmp:
            wall = time.monotonic()
            table = run(Path(tmp))
        lines += ["", f"### {name} ({time.monotonic() - wall:.0f} s)", "", *table]
        print("\n".join(lines[-len(table) - 3 :]), flush=True)
    if args.output:
        args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps({"load_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
