"""Generate the synthetic example files in examples/ (deterministic; no real person's data).

Every value is made up but passes the same checks as a real one (ID check digit, Luhn, segments),
so the scanner treats them as it would real data. Run: python scripts/make_examples.py
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

from openpyxl import Workbook

OUT = Path(__file__).resolve().parent.parent / "examples"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰志红"
REGIONS = ("110101", "110105", "310104", "440305", "330106", "320102", "510107", "420106")
STREETS = (
    "北京市朝阳区建国路",
    "上海市徐汇区漕溪北路",
    "广东省深圳市南山区科技园路",
    "浙江省杭州市西湖区文三路",
)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random) -> str:
    body = f"{rng.choice(REGIONS)}{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def person(rng: random.Random) -> dict[str, str]:
    return {
        "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
        "id": resident_id(rng),
        "mobile": f"1{rng.choice(['38', '39', '58', '86', '77'])}{rng.randint(0, 99999999):08d}",
        "card": luhn_complete("622202", 19, rng),
        "address": f"{rng.choice(STREETS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2505)}室",
    }


def main() -> None:
    rng = random.Random(20261123)
    OUT.mkdir(exist_ok=True)
    people = [person(rng) for _ in range(60)]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["客户姓名", "身份证号", "手机号码", "银行卡号", "联系地址"])
    for p in people:
        w.writerow([p["name"], p["id"], p["mobile"], p["card"], p["address"]])
    (OUT / "客户名单_导出.csv").write_bytes(buf.getvalue().encode("gbk"))

    letter = people[0]
    (OUT / "录用通知.txt").write_text(
        f"{letter['name']}同学：\n恭喜你通过面试。请于下周一报到，如有问题请致电 {letter['mobile']}。\n人事部\n",
        encoding="utf-8",
    )

    masked = ["姓名,手机,身份证号"] + [
        f"{p['name'][0]}*{p['name'][2:]},{p['mobile'][:3]}****{p['mobile'][-4:]},{p['id'][:6]}********{p['id'][-4:]}"
        for p in people[:40]
    ]
    (OUT / "客户信息_脱敏.csv").write_text("\n".join(masked) + "\n", encoding="utf-8")

    wb = Workbook()
    ws = wb.active
    ws.title = "运单"
    ws.append(["运单号", "收件人", "收件人电话", "收件地址"])
    for i, p in enumerate(people[:55]):
        ws.append([f"SF{1400000000000 + i}", p["name"], p["mobile"], p["address"]])
    xlsx = io.BytesIO()
    wb.save(xlsx)
    with zipfile.ZipFile(OUT / "waybills.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("waybills/export_0301.xlsx", xlsx.getvalue())
        z.writestr("readme.txt", "导出说明：本压缩包由系统自动生成。\n")


if __name__ == "__main__":
    main()
