"""OCR end to end on generated images and image-only PDFs: exact counts, layout, limits, bad input.

Every image is rendered here from synthetic people (tests/ocr_samples.py) with a CJK font, some
of them degraded like phone photos (rotation, blur, noise, JPEG artefacts).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import ocr_samples as samples
import pytest
from read_document import read

from dlpscan.extract import Limits, images, ocr
from dlpscan.extract.ocr_layout import ID_HEADER
from dlpscan.model import Status, TableBlock, TextBlock
from dlpscan.pipeline import FileScanner, ScanSettings

if samples.cjk_font_path() is None:
    pytest.skip("no CJK font to render test images (Debian: fonts-noto-cjk)", allow_module_level=True)

PEOPLE = samples.people(6, seed=18)


@pytest.fixture(scope="module")
def scanner() -> FileScanner:
    return FileScanner(ScanSettings(key=b"k"))


def scan(scanner: FileScanner, path: Path, limits: Limits | None = None):
    if limits is not None:
        scanner = FileScanner(ScanSettings(key=b"k", limits=limits))
    return scanner.scan_path(path, path.name)


def counts(result) -> dict[str, int]:
    return {etype: stats.distinct for etype, stats in result.entities.items()}


# -- cards and tables ------------------------------------------------------------------------------


def test_id_card_photo_is_one_person(tmp_path, scanner):
    person = PEOPLE[0]
    path = samples.save(samples.photo_like(samples.id_card(person), seed=1), tmp_path / "id.jpg")
    doc, status, _, blocks = read(path)
    assert (doc.media_type, status) == ("image/jpeg", Status.SCANNED)
    card = blocks[0]
    assert isinstance(card, TableBlock) and card.header == ID_HEADER and card.ocr.card == "id_card"
    assert len(card.rows) == 1 and card.rows[0][0] == person.name and card.rows[0][5] == person.id

    [result] = scan(scanner, path)
    assert counts(result) == {"CN_RESIDENT_ID": 1, "CN_NAME": 1, "CN_ADDRESS": 1}
    assert result.records == 1
    assert result.notes["ocr_images"] == 1 and result.notes["ocr_id_cards"] == 1
    assert result.notes["ocr_found_cn_resident_id"] == 1 and result.notes["ocr_found_cn_name"] == 1
    assert 85 <= result.notes["ocr_confidence_min_pct"] <= result.notes["ocr_confidence_pct"] <= 100


def test_bank_card_photo(tmp_path, scanner):
    number = samples.bank_card(__import__("random").Random(7))
    path = samples.save(samples.photo_like(samples.bank_card_image(number), seed=2), tmp_path / "card.jpg")
    [result] = scan(scanner, path)
    assert counts(result) == {"CN_BANK_CARD": 1}
    assert result.notes["ocr_bank_cards"] == 1 and result.notes["ocr_found_cn_bank_card"] == 1
    assert result.entities["CN_BANK_CARD"].samples == [f"{number[:4]} **** **** **** {number[-4:]}"]


def test_photographed_customer_list_keeps_columns_and_header(tmp_path, scanner):
    persons = PEOPLE[:5]
    path = samples.save(
        samples.photo_like(samples.customer_list(persons), seed=3, angle=-3), tmp_path / "l.jpg"
    )
    _, status, _, blocks = read(path)
    assert status == Status.SCANNED
    tables = [b for b in blocks if isinstance(b, TableBlock)]
    assert [t.header for t in tables] == [("姓名", "身份证号", "手机", "地址")]
    assert [row[:3] for row in tables[0].rows] == [(p.name, p.id, p.mobile) for p in persons]
    assert any(isinstance(b, TextBlock) and "客户名单" in b.text for b in blocks)

    [result] = scan(scanner, path)
    assert counts(result) == {"CN_RESIDENT_ID": 5, "CN_MOBILE": 5, "CN_NAME": 5, "CN_ADDRESS": 5}
    assert result.records == 5


def test_image_on_its_side_is_turned(tmp_path, scanner):
    img = samples.customer_list(PEOPLE[:2]).rotate(90, expand=True)
    [result] = scan(scanner, samples.save(img, tmp_path / "sideways.png"))
    assert counts(result) == {"CN_RESIDENT_ID": 2, "CN_MOBILE": 2, "CN_NAME": 2, "CN_ADDRESS": 2}


# -- formats ---------------------------------------------------------------------------------------


def test_multi_page_tiff_reads_every_page(tmp_path, scanner):
    pages = [samples.id_card(p) for p in PEOPLE[:3]]
    path = tmp_path / "ids.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_lzw")
    [result] = scan(scanner, path)
    assert result.media_type == "image/tiff"
    assert counts(result) == {"CN_RESIDENT_ID": 3, "CN_NAME": 3, "CN_ADDRESS": 3}
    assert (result.records, result.notes["ocr_images"], result.notes["ocr_id_cards"]) == (3, 3, 3)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP", "HEIF"])
def test_image_formats(tmp_path, scanner, fmt):
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif").register_heif_opener()
    path = samples.save(samples.id_card(PEOPLE[1]), tmp_path / f"id.{fmt.lower()}", format=fmt)
    [result] = scan(scanner, path)
    assert result.status == Status.SCANNED, result.reason
    assert counts(result) == {"CN_RESIDENT_ID": 1, "CN_NAME": 1, "CN_ADDRESS": 1}


def test_image_only_pdf_pages_are_read(tmp_path, scanner):
    pdf = samples.image_pdf(
        [samples.photo_like(samples.customer_list(PEOPLE[:3]), seed=4), samples.id_card(PEOPLE[3])],
        tmp_path / "scan.pdf",
    )
    [result] = scan(scanner, pdf)
    assert result.status == Status.SCANNED
    assert counts(result) == {"CN_RESIDENT_ID": 4, "CN_MOBILE": 3, "CN_NAME": 4, "CN_ADDRESS": 4}
    assert (result.records, result.notes["ocr_pages"], result.notes["ocr_id_cards"]) == (4, 2, 1)


def test_images_inside_office_documents_and_mail(tmp_path, scanner):
    import docx
    import openpyxl
    import pptx
    from openpyxl.drawing.image import Image as XlImage

    card = samples.save(samples.id_card(PEOPLE[4]), tmp_path / "card.png")
    icon = samples.save(samples.id_card(PEOPLE[5]).resize((40, 25)), tmp_path / "icon.png")
    word = docx.Document()
    word.add_paragraph("附件：身份证复印件")
    word.add_picture(str(card))
    word.add_picture(str(icon))
    word.save(tmp_path / "a.docx")
    book = openpyxl.Workbook()
    book.active.add_image(XlImage(str(card)), "B2")
    book.save(tmp_path / "a.xlsx")
    deck = pptx.Presentation()
    deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_picture(str(card), 0, 0)
    deck.save(tmp_path / "a.pptx")
    mail = EmailMessage()
    mail["Subject"] = "资料"
    mail.set_content("见附件")
    mail.add_attachment(card.read_bytes(), maintype="image", subtype="png", filename="card.png")
    mail.add_attachment(card.read_bytes(), maintype="image", subtype="png", disposition="inline")
    (tmp_path / "a.eml").write_bytes(mail.as_bytes())

    for name in ("a.docx", "a.xlsx", "a.pptx"):
        [result] = scan(scanner, tmp_path / name)
        assert result.status == Status.SCANNED, (name, result.reason)
        assert counts(result) == {"CN_RESIDENT_ID": 1, "CN_NAME": 1, "CN_ADDRESS": 1}, name
        assert (result.records, result.notes["ocr_images"]) == (1, 1), name
    [docx_result] = scan(scanner, tmp_path / "a.docx")
    assert docx_result.notes["ocr_images_small"] == 1
    _message, *attached = scan(scanner, tmp_path / "a.eml")
    assert [(a.path, a.media_type) for a in attached] == [
        ("a.eml!card.png", "image/png"),
        ("a.eml!attachment-2.png", "image/png"),  # inline, without a file name
    ]
    for a in attached:
        assert counts(a) == {"CN_RESIDENT_ID": 1, "CN_NAME": 1, "CN_ADDRESS": 1}


# -- limits and bad input --------------------------------------------------------------------------


def test_tiny_image_is_skipped_with_reason(tmp_path, scanner):
    [result] = scan(scanner, samples.save(samples.id_card(PEOPLE[0]).resize((48, 30)), tmp_path / "i.png"))
    assert (result.status, result.reason) == (Status.SKIPPED, "image too small to hold text (48x30 px)")


def test_pixel_limit_stops_decompression_bombs_before_decoding(tmp_path, scanner):
    from PIL import Image

    path = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(path)  # 400 megapixels in about 50 kB
    assert path.stat().st_size < 100_000
    [result] = scan(scanner, path)
    assert (result.status, result.reason) == (Status.SKIPPED, "image larger than the pixel limit")
    small_limit = Limits(max_image_pixels=100_000)
    [result] = scan(scanner, samples.save(samples.id_card(PEOPLE[0]), tmp_path / "id.png"), small_limit)
    assert (result.status, result.reason) == (
        Status.SKIPPED,
        "image larger than the pixel limit (0.1 megapixels)",
    )


READ = "; what was read before is reported"  # a limit hit after readable pages: status partial


def test_ocr_page_limit_keeps_what_was_read(tmp_path):
    pages = [samples.id_card(p) for p in PEOPLE[:3]]
    path = tmp_path / "ids.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    [result] = scan(None, path, Limits(max_ocr_pages=2))
    assert (result.status, result.reason) == (
        Status.PARTIAL,
        f"OCR page limit reached (2 per document){READ}",
    )
    assert counts(result) == {"CN_RESIDENT_ID": 2, "CN_NAME": 2, "CN_ADDRESS": 2}

    pdf = samples.image_pdf(pages, tmp_path / "ids.pdf")
    [result] = scan(None, pdf, Limits(max_ocr_pages=1))
    assert (result.status, result.reason) == (
        Status.PARTIAL,
        f"OCR page limit reached (1 per document): 2 of 3 images or image-only pages not read{READ}",
    )
    assert counts(result) == {"CN_RESIDENT_ID": 1, "CN_NAME": 1, "CN_ADDRESS": 1}


def test_corrupt_truncated_and_encrypted_inputs_get_a_status(tmp_path, scanner):
    whole = io.BytesIO()
    samples.id_card(PEOPLE[0]).save(whole, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(whole.getvalue()[:4000])
    png = bytearray(samples.save(samples.id_card(PEOPLE[0]), tmp_path / "id.png").read_bytes())
    png[200:3000] = bytes(range(256)) * 11  # the pixel data is damaged, the header is intact
    (tmp_path / "garbage.png").write_bytes(png)
    from reportlab.pdfgen import canvas

    secret = tmp_path / "secret.pdf"
    c = canvas.Canvas(str(secret), encrypt="pw")
    c.drawImage(str(tmp_path / "id.png"), 0, 0, 400, 250)
    c.save()
    results = {p.name: scan(scanner, p)[0] for p in (tmp_path / "cut.jpg", tmp_path / "garbage.png", secret)}
    assert results["cut.jpg"].status == Status.ERROR
    assert results["cut.jpg"].error == "OSError: cannot decode image"
    assert (results["garbage.png"].media_type, results["garbage.png"].status) == ("image/png", Status.ERROR)
    assert (results["secret.pdf"].status, results["secret.pdf"].reason) == (
        Status.ENCRYPTED,
        "password-protected PDF",
    )
    for r in results.values():
        assert r.entities == {}


def test_without_the_ocr_extra_images_are_skipped_with_how_to_enable(tmp_path, scanner, monkeypatch):
    monkeypatch.setattr(ocr, "available", lambda: False)
    png = samples.save(samples.id_card(PEOPLE[0]), tmp_path / "id.png")
    pdf = samples.image_pdf([samples.id_card(PEOPLE[1])], tmp_path / "scan.pdf")
    hint = "install the OCR extra to read it: pip install 'dlpscan[ocr]'"
    [image] = scan(scanner, png)
    assert (image.status, image.reason) == (Status.SKIPPED, f"image not read; {hint}")
    [page] = scan(scanner, pdf)
    assert (page.status, page.reason) == (Status.SKIPPED, f"no text layer (image-only); {hint}")
    import docx

    word = docx.Document()
    word.add_paragraph("附件")
    word.add_picture(str(png))
    word.save(tmp_path / "a.docx")
    [doc] = scan(scanner, tmp_path / "a.docx")
    assert (doc.status, doc.notes) == (Status.SCANNED, {"ocr_not_installed": 1})


def test_ocr_turned_off_by_limit(tmp_path, scanner):
    png = samples.save(samples.id_card(PEOPLE[0]), tmp_path / "id.png")
    [image] = scan(scanner, png, Limits(max_ocr_pages=0))
    assert (image.status, image.reason) == (
        Status.SKIPPED,
        "image not read; OCR is turned off (limits.max_ocr_pages = 0)",
    )


# -- engine ---------------------------------------------------------------------------------------


def test_engine_is_built_once_per_process(tmp_path, scanner):
    for n in range(2):
        scan(scanner, samples.save(samples.id_card(PEOPLE[n]), tmp_path / f"{n}.png"))
    assert ocr.engine.cache_info().misses == 1


def test_models_are_pinned_inside_the_wheel():
    paths = ocr.model_paths()
    assert set(paths) == {"Det", "Cls", "Rec"}
    for path in paths.values():
        assert path.is_file() and path.parent.parent.name == "rapidocr"
    engine = ocr.engine()
    for stage in ("Det", "Cls", "Rec"):
        assert engine.cfg[stage].model_path == str(paths[stage])


OFFLINE_SCRIPT = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network is unreachable (test guard)")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from pathlib import Path
from dlpscan.pipeline import FileScanner, ScanSettings
[result] = FileScanner(ScanSettings(key=b"k")).scan_path(Path(sys.argv[1]), "id.png")
import json
print(json.dumps({"status": str(result.status), "ids": result.entities["CN_RESIDENT_ID"].distinct}))
"""


def test_ocr_runs_with_the_network_unreachable(tmp_path):
    png = samples.save(samples.id_card(PEOPLE[2]), tmp_path / "id.png")
    proc = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, str(png)], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == {"status": "scanned", "ids": 1}


def test_no_raw_value_in_messages_or_notes(tmp_path, scanner):
    person = PEOPLE[0]
    results = scan(scanner, samples.save(samples.id_card(person), tmp_path / "id.png"))
    text = repr(results)
    for raw in (person.id, person.name, person.address):
        assert raw not in text
    assert images.OCR_IMAGES in results[0].notes


def test_a_policy_can_flag_every_id_card_photo(tmp_path):
    (tmp_path / "ids.yaml").write_text(
        "name: ids\nrules:\n  - {name: id-card-image, severity: high, requires_notes: [ocr_id_cards]}\n",
        encoding="utf-8",
    )
    scanner = FileScanner(ScanSettings(key=b"k", policy="ids", policy_dirs=(str(tmp_path),)))
    card = samples.save(samples.id_card(PEOPLE[3]), tmp_path / "id.png")
    listing = samples.save(samples.customer_list(PEOPLE[:1]), tmp_path / "list.png")
    [flagged] = scanner.scan_path(card, card.name)
    [other] = scanner.scan_path(listing, listing.name)
    assert (flagged.flagged, flagged.severity, [r.rule for r in flagged.rules]) == (
        True,
        "high",
        ["id-card-image"],
    )
    assert (other.flagged, other.severity) == (False, "none")
