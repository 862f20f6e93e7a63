"""Synthetic images for the OCR tests and bench: ID cards, bank cards, customer lists, with known values.

All people are made up: names from a fixed list, resident IDs with valid check digits, Luhn-valid
cards on a Chinese issuer BIN, mobiles on assigned segments. Text is rendered with a Noto CJK font
(Debian `fonts-noto-cjk`, which .ci/run installs), found with fc-match.
"""

from __future__ import annotations

import functools
import io
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
NAMES = ("王小明", "李娜红", "张伟强", "刘芳华", "陈静", "杨磊", "赵军", "周洋", "吴勇", "黄敏")
STREETS = ("建国路", "人民路", "解放大道", "中山路", "长江路")


@functools.cache
def cjk_font_path() -> Path | None:
    """A font file with Simplified Chinese glyphs, or None."""
    if shutil.which("fc-list"):  # fonts that cover Simplified Chinese, Sans CJK preferred
        listed = subprocess.run(
            ["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True, check=False
        ).stdout.split()
        files = sorted({f.rstrip(":") for f in listed if Path(f.rstrip(":")).is_file()})
        if files:
            return min(files, key=lambda f: ("SansCJK-Regular" not in f, "CJK" not in f, f))
    for pattern in ("NotoSansCJK*.ttc", "NotoSansCJK*.otf", "NotoSerifCJK*.ttc", "wqy*.tt?"):
        found = sorted(Path("/usr/share/fonts").rglob(pattern))
        if found:
            return found[0]
    return None


def font(size: int) -> ImageFont.FreeTypeFont:
    path = cjk_font_path()
    if path is None:
        raise RuntimeError("no CJK font")
    return ImageFont.truetype(str(path), size)


def resident_id(rng: random.Random) -> str:
    region = rng.choice(["110105", "310104", "440305", "330106"])
    body = f"{region}{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def bank_card(rng: random.Random) -> str:
    """A 19-digit Luhn-valid number on ICBC's 622202 BIN."""
    body = "622202" + "".join(str(rng.randint(0, 9)) for _ in range(12))
    for check in "0123456789":
        digits = [int(c) for c in body + check]
        total = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
        if total % 10 == 0:
            return body + check
    raise AssertionError("unreachable")


def mobile(rng: random.Random) -> str:
    return rng.choice(["139", "138", "186", "135"]) + f"{rng.randint(0, 99999999):08d}"


@dataclass(frozen=True)
class Person:
    name: str
    id: str
    mobile: str
    address: str


def people(n: int, seed: int) -> list[Person]:
    rng = random.Random(seed)
    out: dict[str, Person] = {}
    names = list(NAMES)
    rng.shuffle(names)
    while len(out) < n:
        pid = resident_id(rng)
        address = f"北京市朝阳区{rng.choice(STREETS)}{rng.randint(1, 200)}号"
        out[pid] = Person(names[len(out) % len(names)], pid, mobile(rng), address)
    return list(out.values())


def id_card(person: Person) -> Image.Image:
    """The front of a resident ID card, laid out like the real one (no photo, no emblem)."""
    img = Image.new("RGB", (860, 540), (236, 234, 222))
    d = ImageDraw.Draw(img)
    label, value = font(26), font(30)
    birth = person.id[6:14]
    rows = [
        (40, "姓名", person.name),
        (100, "性别", "男        民族  汉"),
        (160, "出生", f"{birth[:4]} 年 {int(birth[4:6])} 月 {int(birth[6:])} 日"),
        (220, "住址", person.address[:12]),
        (262, "", person.address[12:]),
    ]
    for y, lab, val in rows:
        if lab:
            d.text((40, y + 3), lab, font=label, fill=(40, 80, 140))
        d.text((130, y), val, font=value, fill="black")
    d.text((40, 430), "公民身份号码", font=label, fill=(40, 80, 140))
    d.text((250, 426), person.id, font=font(34), fill="black")
    return img


def bank_card_image(number: str) -> Image.Image:
    img = Image.new("RGB", (856, 540), (28, 64, 128))
    d = ImageDraw.Draw(img)
    d.text((40, 36), "中国工商银行", font=font(34), fill="white")
    d.text((600, 40), "银联 UnionPay", font=font(28), fill="white")
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    d.text((50, 300), grouped, font=font(46), fill="white")
    d.text((60, 400), "VALID THRU 09/29", font=font(26), fill="white")
    return img


def customer_list(persons: list[Person], title: str = "客户名单") -> Image.Image:
    """A screenshot of a customer table: title, header row, one row per person."""
    img = Image.new("RGB", (1200, 120 + 56 * (len(persons) + 1)), "white")
    d = ImageDraw.Draw(img)
    f = font(28)
    d.text((30, 20), title, font=font(34), fill="black")
    columns = (30, 200, 560, 800)
    header = ("姓名", "身份证号", "手机", "地址")
    for c, text in enumerate(header):
        d.text((columns[c], 90), text, font=f, fill="black")
    for r, p in enumerate(persons, start=1):
        for c, text in enumerate((p.name, p.id, p.mobile, p.address)):
            d.text((columns[c], 90 + 56 * r), text, font=f, fill="black")
    return img


def photo_like(img: Image.Image, seed: int, angle: float = 2.5, quality: int = 40) -> Image.Image:
    """Rotated, blurred, noisy and JPEG-compressed: what a phone photo of a document looks like."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = img.rotate(angle, expand=True, fillcolor=(128, 128, 128), resample=Image.Resampling.BICUBIC)
    out = out.filter(ImageFilter.GaussianBlur(0.8))
    pixels = np.asarray(out, dtype=np.int16) + rng.normal(0, 12, (out.height, out.width, 3)).astype(np.int16)
    out = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


def image_pdf(images: list[Image.Image], path: Path, dpi: int = 200) -> Path:
    """A PDF whose pages are only the images (no text layer), as a scanner makes them."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for img in images:
        width, height = img.width * 72 / dpi, img.height * 72 / dpi
        c.setPageSize((width, height))
        c.drawImage(ImageReader(img), 0, 0, width, height)
        c.showPage()
    c.save()
    return path


def scanned_page(persons: list[Person], dpi: int = 300, point_size: float = 10.5) -> Image.Image:
    """An A4 page of a customer register as a scanner produces it (white paper, `point_size` text)."""
    scale = dpi / 72
    img = Image.new("RGB", (round(595 * scale), round(842 * scale)), "white")
    d = ImageDraw.Draw(img)
    f = font(round(point_size * scale))
    d.text((round(60 * scale), round(50 * scale)), "会员登记表", font=font(round(16 * scale)), fill="black")
    columns = [round(x * scale) for x in (60, 95, 160, 300, 385)]
    y0, step = round(90 * scale), round(point_size * 2.4 * scale)
    for c, text in enumerate(("序号", "姓名", "身份证号", "手机", "地址")):
        d.text((columns[c], y0), text, font=f, fill="black")
    for r, p in enumerate(persons, start=1):
        for c, text in enumerate((str(r), p.name, p.id, p.mobile, p.address)):
            d.text((columns[c], y0 + step * r), text, font=f, fill="black")
    return img
