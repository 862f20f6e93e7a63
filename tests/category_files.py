"""Generated example files of each legal data category (and look-alikes that are none), with the
counts and the 法释〔2017〕10号 grading each must get. Clearly fake people (tests/edm_people.py).

`EXPECTED[file] = (categories, severity, deciding rule)`: categories maps a category to
(people, records, rows); the rule is the first judicial-2017 rule that decides the severity.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from pathlib import Path

import xlsxwriter
from edm_people import customers, mobile, name

Counts = dict[str, tuple[int, int, int]]


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def lodging(folder: Path) -> Path:
    """A hotel register of 600 guests in pinyin columns (旅馆业 export), one guest listed twice."""
    rng = random.Random(1)
    rows: list[list[object]] = [
        [
            c.name,
            c.id,
            c.mobile,
            f"{rng.randint(1, 20)}{rng.randint(1, 40):02d}",
            "2024-03-01 14:02",
            "2024-03-02 11:40",
        ]
        for c in customers(600, 1)
    ]
    rows.append(rows[7])
    _csv(folder / "lodging_register.csv", ["xm", "sfzmhm", "lxdh", "fjbh", "rzsj", "tfsj"], rows)
    return folder / "lodging_register.csv"


def credit(folder: Path) -> Path:
    """80 borrowers with overdue loans and their 24-month repayment strings; two rows repeated."""
    rng = random.Random(2)
    rows: list[list[object]] = []
    for c in customers(80, 2):
        history = "".join(rng.choice("NNNN123") for _ in range(24))
        rows.append(
            [
                c.name,
                c.id,
                c.mobile,
                rng.randint(10_000, 500_000),
                rng.randint(100, 9_000),
                rng.randint(1, 6),
                "关注",
                history,
            ]
        )
    rows += [rows[3], rows[40]]
    header = [
        "客户姓名",
        "证件号码",
        "手机号码",
        "贷款余额",
        "逾期金额",
        "当前逾期期数",
        "五级分类",
        "近24个月还款状态",
    ]
    _csv(folder / "overdue_loans.csv", header, rows)
    return folder / "overdue_loans.csv"


def call_records(folder: Path) -> Path:
    """700 call detail records of 40 subscribers (English column names of a switch export)."""
    rng = random.Random(3)
    subscribers = [c.mobile for c in customers(40, 3)]
    rows: list[list[object]] = [
        [
            subscribers[i % 40],
            mobile(rng),
            f"2024-03-{1 + i // 60:02d} {i % 24:02d}:{i % 60:02d}:07",
            rng.randint(3, 900),
        ]
        for i in range(700)
    ]
    _csv(folder / "cdr_202403.csv", ["Caller", "Callee", "StartTime", "Duration"], rows)
    return folder / "cdr_202403.csv"


def vehicle_tracks(folder: Path) -> Path:
    """5 vehicles x 12 GPS fixes with repeated positions (a parked car), plus one exact duplicate
    row each: 65 rows, 45 track points (9 per vehicle)."""
    plates = ["京A12345", "沪B67890", "粤C24680", "浙D13579", "苏E11223"]
    rows: list[list[object]] = []
    for v, plate in enumerate(plates):
        positions = [0, 0, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8]  # 9 distinct positions, 3 repeats
        for k, p in enumerate(positions):
            rows.append(
                [
                    plate,
                    f"{116.300000 + v * 0.01 + p * 0.001:.6f}",
                    f"{39.900000 + p * 0.001:.6f}",
                    f"2024-03-01 08:{k:02d}:00",
                    40,
                ]
            )
        rows.append(list(rows[-1]))
    _csv(folder / "gps_tracks.csv", ["车牌号", "longitude", "latitude", "dataTime", "speed"], rows)
    return folder / "gps_tracks.csv"


def parcel_tracking(folder: Path) -> Path:
    """20 parcels x 3 scan events at different outlets (60 points), one scan exported twice."""
    rows: list[list[object]] = []
    for i, c in enumerate(customers(20, 4)):
        for k, (outlet, event) in enumerate(
            [("杭州转运中心", "已揽收"), ("上海转运中心", "运输中"), ("浦东新区网点", "派送中")]
        ):
            rows.append(
                [
                    f"YT{9_000_000 + i}",
                    c.name,
                    c.mobile,
                    f"2024-03-0{k + 1} 10:00:00",
                    f"{outlet}{i % 3}",
                    event,
                ]
            )
    rows.append(rows[5])
    _csv(
        folder / "parcel_tracking.csv",
        ["运单号", "收件人", "收件人电话", "操作时间", "操作网点", "物流状态"],
        rows,
    )
    return folder / "parcel_tracking.csv"


def housing_fund(folder: Path) -> Path:
    """60 employees' housing-fund (公积金) base and monthly contributions."""
    rng = random.Random(5)
    rows: list[list[object]] = [
        [c.name, c.id, "示例科技有限公司", rng.randint(5_000, 30_000), rng.randint(500, 3_600)]
        for c in customers(60, 5)
    ]
    _csv(folder / "gjj_2024.csv", ["姓名", "身份证号", "单位名称", "缴存基数", "月缴存额"], rows)
    return folder / "gjj_2024.csv"


def messages(folder: Path) -> Path:
    """55 text messages sent by 10 people (短信内容 with sender, receiver and time)."""
    rng = random.Random(6)
    senders = [c.mobile for c in customers(10, 6)]
    rows: list[list[object]] = [
        [senders[i % 10], mobile(rng), f"2024-03-01 09:{i:02d}:00", "明天下午三点见，记得带合同"]
        for i in range(55)
    ]
    _csv(folder / "sms_export.csv", ["发送号码", "接收号码", "发送时间", "短信内容"], rows)
    return folder / "sms_export.csv"


def train_trips(folder: Path) -> Path:
    """30 passengers' train trips: whereabouts in some courts, not in others (disputed)."""
    rows: list[list[object]] = [
        [c.name, c.id, f"G{100 + i}", "北京南", "上海虹桥", "2024-03-01", f"0{i % 9 + 1}车{i % 20 + 1:02d}A"]
        for i, c in enumerate(customers(30, 7))
    ]
    _csv(
        folder / "train_trips.csv",
        ["旅客姓名", "证件号码", "车次", "出发站", "到达站", "乘车日期", "座位号"],
        rows,
    )
    return folder / "train_trips.csv"


def statement(folder: Path) -> Path:
    """One account holder's statement: 300 transactions with named counterparties."""
    rng = random.Random(8)
    holder = customers(1, 8)[0]
    rows: list[list[object]] = [
        [
            "6222020200112233441",
            holder.name,
            f"2024-0{1 + i // 100}-{1 + i % 28:02d} 12:{i % 60:02d}:00",
            f"{rng.randint(1, 9_000)}.00",
            name(rng),
            "消费",
        ]
        for i in range(300)
    ]
    _csv(folder / "statement.csv", ["账号", "户名", "交易时间", "交易金额", "对方户名", "摘要"], rows)
    return folder / "statement.csv"


def case_notes(folder: Path) -> Path:
    """12 patients' case notes in free text, one paragraph per patient, and prose about diagnosis."""
    paragraphs = ["本院设备故障诊断流程说明：如遇问题请联系信息科 021-64041990。"]
    for i, c in enumerate(customers(12, 9)):
        paragraphs.append(
            f"患者姓名：{c.name}\n身份证号：{c.id}\n联系电话：{c.mobile}\n就诊科室：心内科\n诊断：原发性高血压 ICD-10 I10.x0{i % 3}"
        )
    path = folder / "case_notes.txt"
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def mixed_workbook(folder: Path) -> Path:
    """300 lodging records and 25 credit records of other people: neither is serious alone,
    300/500 + 25/50 = 1.1 is (the mixed formula)."""
    path = folder / "mixed.xlsx"
    book = xlsxwriter.Workbook(str(path))
    guests, borrowers = customers(325, 10)[:300], customers(325, 10)[300:]
    sheet = book.add_worksheet("住宿")
    sheet.write_row(0, 0, ["姓名", "身份证号", "房间号", "入住时间", "退房时间"])
    for r, c in enumerate(guests, 1):
        sheet.write_row(r, 0, [c.name, c.id, f"{800 + r % 40}", "2024-02-01 20:00", "2024-02-03 12:00"])
    sheet = book.add_worksheet("征信")
    sheet.write_row(0, 0, ["姓名", "身份证号", "逾期金额", "五级分类"])
    for r, c in enumerate(borrowers, 1):
        sheet.write_row(r, 0, [c.name, c.id, 1000 + r, "次级"])
    book.close()
    return path


# --- look-alikes that hold no category ---


def product_catalogue(folder: Path) -> Path:
    """Products with prices, sales amounts and a customer-service number: not transactions."""
    rows: list[list[object]] = [
        [
            f"SKU{1000 + i}",
            f"保温杯{i}号",
            f"{59 + i}.00",
            f"{(59 + i) * 12}.00",
            "2024-03-01",
            "021-64041990",
        ]
        for i in range(80)
    ]
    _csv(folder / "products.csv", ["商品编号", "商品名称", "单价", "销售金额", "上架时间", "客服电话"], rows)
    return folder / "products.csv"


def weather(folder: Path) -> Path:
    """Weather stations with coordinates and observation times: no person, not whereabouts."""
    rows: list[list[object]] = [
        [
            f"站点{i}",
            f"{116.3 + i * 0.01:.6f}",
            f"{39.9 + i * 0.01:.6f}",
            f"2024-03-01 {i % 24:02d}:00:00",
            12.5,
        ]
        for i in range(120)
    ]
    _csv(folder / "weather.csv", ["站点", "经度", "纬度", "观测时间", "气温"], rows)
    return folder / "weather.csv"


def department_phones(folder: Path) -> Path:
    """A department phone list: people and numbers, but no calls."""
    rows: list[list[object]] = [
        [["财务部", "人事部", "市场部"][i % 3], c.name, f"021-6404{1000 + i}", c.mobile]
        for i, c in enumerate(customers(30, 11))
    ]
    _csv(folder / "phone_list.csv", ["部门", "姓名", "办公电话", "手机"], rows)
    return folder / "phone_list.csv"


def statistics(folder: Path) -> Path:
    """Aggregate statistics per district: balances, overdue rates, hospital visits: nobody."""
    rows: list[list[object]] = [
        [f"{d}区", 1000 + i * 37, f"{20_000 + i * 500}.00", f"{1.5 + i / 10:.2f}%", 300 + i, "2024-03-01"]
        for i, d in enumerate("东西南北中")
    ]
    header = ["地区", "人数", "平均贷款余额", "逾期率", "门诊人次", "统计时间"]
    _csv(folder / "statistics.csv", header, rows)
    return folder / "statistics.csv"


WRITERS: list[Callable[[Path], Path]] = [
    lodging,
    credit,
    call_records,
    vehicle_tracks,
    parcel_tracking,
    housing_fund,
    messages,
    train_trips,
    statement,
    case_notes,
    mixed_workbook,
    product_catalogue,
    weather,
    department_phones,
    statistics,
]

EXPECTED: dict[str, tuple[Counts, str, str | None]] = {
    "lodging_register.csv": ({"lodging": (600, 600, 601)}, "high", "serious-lodging-500"),
    "overdue_loans.csv": ({"credit": (80, 80, 82)}, "high", "serious-credit-50"),
    "cdr_202403.csv": ({"call_records": (40, 700, 700)}, "high", "serious-call-records-500"),
    "gps_tracks.csv": ({"trajectory": (5, 45, 65)}, "medium", "insider-serious-half"),
    "parcel_tracking.csv": ({"trajectory": (20, 60, 61)}, "high", "serious-trajectory-50"),
    "gjj_2024.csv": ({"property": (60, 60, 60)}, "high", "serious-property-50"),
    "sms_export.csv": ({"communication_content": (10, 55, 55)}, "high", "serious-communication-content-50"),
    "train_trips.csv": ({"travel": (30, 30, 30)}, "medium", "insider-serious-half"),
    "statement.csv": ({"transactions": (1, 300, 300)}, "medium", "insider-serious-half"),
    "case_notes.txt": ({"health": (12, 12, 12)}, "none", None),
    "mixed.xlsx": ({"lodging": (300, 300, 300), "credit": (25, 25, 25)}, "high", "serious-mixed"),
    "products.csv": ({}, "none", None),
    "weather.csv": ({}, "none", None),
    "phone_list.csv": ({}, "none", None),
    "statistics.csv": ({}, "none", None),
}


def write_all(folder: Path) -> list[Path]:
    return [write(folder) for write in WRITERS]
