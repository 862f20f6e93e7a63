"""Clearly fake customers with valid identifiers, for the EDM tests and bench/bench_edm.py.

Resident IDs carry a correct GB 11643 check character, mobiles use assigned segments, names start
with a common surname, e-mails use example domains. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
REGIONS = ("110105", "310104", "440305", "330106", "510107", "420106")
SEGMENTS = ("135", "138", "139", "186", "187", "150", "177")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
HEADER = ("客户号", "姓名", "身份证号", "手机号", "邮箱")


@dataclass(frozen=True, slots=True)
class Customer:
    number: str
    name: str
    id: str
    mobile: str
    email: str

    def row(self) -> tuple[str, ...]:
        return (self.number, self.name, self.id, self.mobile, self.email)


def resident_id(rng: random.Random) -> str:
    body = (
        f"{rng.choice(REGIONS)}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}"
        f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def mobile(rng: random.Random) -> str:
    return rng.choice(SEGMENTS) + f"{rng.randint(0, 99_999_999):08d}"


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def customers(n: int, seed: int) -> list[Customer]:
    """`n` customers with distinct IDs, mobiles and e-mails."""
    return list(itertools_customers(n, seed))


def itertools_customers(n: int, seed: int) -> Iterator[Customer]:
    rng = random.Random(seed)
    ids: set[str] = set()
    mobiles: set[str] = set()
    while len(ids) < n:
        pid, phone = resident_id(rng), mobile(rng)
        if pid in ids or phone in mobiles:
            continue
        ids.add(pid)
        mobiles.add(phone)
        number = f"C{seed:02d}{len(ids):08d}"
        yield Customer(number, name(rng), pid, phone, f"user{seed}x{len(ids)}@example.com")


def write_master(path: Path, rows: Iterable[Customer], header: tuple[str, ...] = HEADER) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(c.row() for c in rows)


KEY = "edm-test-key-0123456789abcdef"  # at least 16 bytes, as the EDM key must be
SCHEMA = """\
name: customers
columns:
  - {header: 身份证号, type: CN_RESIDENT_ID, primary: true}
  - {header: 手机号, type: CN_MOBILE, primary: true}
  - {header: 姓名, type: CN_NAME}
  - {header: 邮箱, type: EMAIL_ADDRESS}
"""


def build(folder: Path, rows: Iterable[Customer], schema: str = SCHEMA, key: str = KEY, **options):
    """Write a master CSV and its schema into `folder` and build `customers.edm`; the BuildReport."""
    from dlpscan.detect.registry import load_definitions
    from dlpscan.edm.build import build_index
    from dlpscan.edm.schema import load_schema

    write_master(folder / "customers.csv", rows)
    (folder / "edm.yaml").write_text(schema, encoding="utf-8")
    return build_index(
        load_schema(folder / "edm.yaml", load_definitions()),
        folder / "customers.csv",
        folder / "customers.edm",
        key.encode(),
        **options,
    )
