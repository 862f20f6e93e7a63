# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The engine's candidate loop compiled: confirm, normalise, validate, read labels, score, resolve
overlaps and number lines without a Python frame per candidate.

It is a second implementation of `Engine._pattern_findings` + `scoring.evaluate` +
`evidence.with_line_numbers`, which stay the reference: tests/test_differential.py runs both over
generated text and tables and requires identical findings. Whatever is rare or user-defined (other
normalisers, validators, masked values, windows holding cased non-ASCII letters) calls the same
Python functions the reference uses.
"""

from cpython.unicode cimport PyUnicode_FromKindAndData, PyUnicode_4BYTE_KIND
from libc.stdlib cimport free, malloc

import gc

from dlpscan.detect import validators
from dlpscan.detect.scoring import CONTEXT_REACH as _CONTEXT_REACH
from dlpscan.detect.scoring import DAMAGE_CHECKS, Finding, _hidden, label_evidence

cdef enum Validator:
    V_PYTHON = 0
    V_BANK_CARD = 1
    V_MOBILE = 2

cdef enum Normaliser:
    N_PYTHON = 0
    N_DIGITS = 1
    N_UPPER_ALNUM = 2
    N_MOBILE = 3

_NORMALISERS = {"digits": N_DIGITS, "upper_alnum": N_UPPER_ALNUM, "mobile": N_MOBILE}


cdef inline unsigned int _slot(Py_UCS4 c):
    return (<unsigned int> c) & 1023


cdef class _Words:
    """Label words of one definition, lower-cased, longest first (as scoring._alternation orders
    them), held as C arrays with a filter on their first characters."""

    cdef Py_ssize_t count
    cdef Py_ssize_t *lengths
    cdef Py_UCS4 **chars
    cdef unsigned char first[1024]  # first[c & 1023]: some word may start with c
    cdef bint exact  # every word is ASCII or uncased: a char-by-char compare equals re.IGNORECASE
    cdef list _keep

    def __cinit__(self, words):
        cdef Py_ssize_t i, k
        cdef str w
        ordered = sorted({w.lower() for w in words}, key=len, reverse=True)
        self.count = len(ordered)
        self.lengths = <Py_ssize_t *> malloc(max(1, self.count) * sizeof(Py_ssize_t))
        self.chars = <Py_UCS4 **> malloc(max(1, self.count) * sizeof(Py_UCS4 *))
        if self.lengths == NULL or self.chars == NULL:
            raise MemoryError()
        for i in range(1024):
            self.first[i] = 0
        for i in range(self.count):
            self.chars[i] = NULL
        for i in range(self.count):
            w = ordered[i]
            self.lengths[i] = len(w)
            self.chars[i] = <Py_UCS4 *> malloc(max(1, len(w)) * sizeof(Py_UCS4))
            if self.chars[i] == NULL:
                raise MemoryError()
            for k in range(len(w)):
                self.chars[i][k] = w[k]
            if len(w):
                self.first[_slot(self.chars[i][0])] = 1
        self.exact = all(_uncased_or_ascii(w) for w in ordered)

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.chars != NULL:
            for i in range(self.count):
                free(self.chars[i])
            free(self.chars)
        free(self.lengths)


def _uncased_or_ascii(str word):
    cdef Py_UCS4 c
    for c in word:
        if (<unsigned int> c) >= 128 and (c.isupper() or c.islower() or c.istitle()):
            return False
    return True


cdef class _Entry:
    cdef object d, labels, pattern, match, normalise, validate, damage
    cdef str entity
    cdef object group
    cdef bint masked, has_group
    cdef double score, threshold, header_boost, boost
    cdef int priority, window, negative_window, normaliser, validator
    cdef _Words positive, negative

    def __init__(self, d, labels, pattern):
        self.d, self.labels, self.pattern = d, labels, pattern
        self.match = pattern.compiled.match
        self.entity = d.entity
        self.group = pattern.value_group
        self.has_group = bool(pattern.value_group)
        self.masked = pattern.masked
        self.score = pattern.score
        self.threshold = d.threshold
        self.header_boost = d.header_boost
        self.boost = d.context.boost
        self.priority = d.priority
        self.window = d.context.window
        self.negative_window = d.negative_context.window
        self.normaliser = _NORMALISERS.get(d.normaliser, N_PYTHON)
        self.normalise = d.normalise
        self.validate = labels.validate
        self.validator = (
            V_BANK_CARD if self.validate is validators.cn_bank_card
            else V_MOBILE if self.validate is validators.cn_mobile
            else V_PYTHON
        )
        self.damage = DAMAGE_CHECKS.get(d.validator or "")
        self.positive = _Words(d.context.words)
        self.negative = _Words(d.negative_context.words)


cdef inline bint _is_cased_wide(Py_UCS4 c):
    return (<unsigned int> c) >= 128 and not _han(c) and (
        Py_UNICODE_ISUPPER(c) or Py_UNICODE_ISLOWER(c) or Py_UNICODE_ISTITLE(c)
    )


cdef extern from "Python.h":
    bint Py_UNICODE_ISUPPER(Py_UCS4 ch)
    bint Py_UNICODE_ISLOWER(Py_UCS4 ch)
    bint Py_UNICODE_ISTITLE(Py_UCS4 ch)
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch)
    bint Py_UNICODE_ISDECIMAL(Py_UCS4 ch)
    bint Py_UNICODE_ISDIGIT(Py_UCS4 ch)
    Py_UCS4 Py_UNICODE_TOLOWER(Py_UCS4 ch)


cdef Py_ssize_t _last(_Words words, str text, Py_ssize_t lo, Py_ssize_t hi):
    """scoring._last: start of the last non-overlapping leftmost-longest word match in text[lo:hi]."""
    cdef Py_ssize_t p = lo, at = -1, n = 0, i, k
    cdef Py_UCS4 c
    cdef Py_UCS4 *w
    cdef bint hit
    if words.count == 0:
        return -1
    while p < hi:
        c = Py_UNICODE_TOLOWER(text[p])
        hit = False
        if words.first[_slot(c)]:
            for i in range(words.count):
                n = words.lengths[i]
                w = words.chars[i]
                if n == 0 or p + n > hi or w[0] != c:
                    continue
                for k in range(1, n):
                    if Py_UNICODE_TOLOWER(text[p + k]) != w[k]:
                        break
                else:
                    hit = True
                    break
        if hit:
            at = p
            p += n
        else:
            p += 1
    return at


cdef bint _window_exact(str text, Py_ssize_t lo, Py_ssize_t hi):
    cdef Py_ssize_t i
    for i in range(lo, hi):
        if _is_cased_wide(text[i]):
            return False
    return True


cdef int _evidence(_Entry e, str text, Py_ssize_t start, Py_ssize_t floor):
    """scoring.label_evidence; the Python function where a char-by-char compare could differ."""
    cdef Py_ssize_t lo = max(floor, start - e.window)
    cdef Py_ssize_t nlo = max(floor, start - e.negative_window)
    cdef Py_ssize_t pos_at, neg_at
    if not (e.positive.exact and e.negative.exact and _window_exact(text, min(lo, nlo), start)):
        return label_evidence(e.d, e.labels, text, start, floor)
    pos_at = _last(e.positive, text, lo, start)
    neg_at = _last(e.negative, text, nlo, start)
    if neg_at > pos_at:
        return -1
    return 1 if pos_at >= 0 else 0


cdef Py_ssize_t _rfind_nl(str text, Py_ssize_t lo, Py_ssize_t hi):
    cdef Py_ssize_t i = hi - 1
    while i >= lo:
        if text[i] == u'\n':
            return i
        i -= 1
    return -1


cdef Py_ssize_t _line_bounds(str text, Py_ssize_t start, Py_ssize_t floor):
    """scoring.line_bounds: looks back at most CONTEXT_REACH characters (linear on one long line)."""
    cdef Py_ssize_t reach = _CONTEXT_REACH
    cdef Py_ssize_t lo = max(floor, start - reach)
    cdef Py_ssize_t line_start = _rfind_nl(text, lo, start) + 1, i
    cdef bint blank
    if line_start == 0:
        line_start = lo
    if line_start > lo:
        blank = True
        for i in range(line_start, start):
            if not Py_UNICODE_ISSPACE(text[i]):
                blank = False
                break
        if blank:
            line_start = _rfind_nl(text, lo, line_start - 1) + 1
            if line_start == 0:
                line_start = lo
    return line_start


cdef str _normalise(_Entry e, str raw):
    cdef Py_ssize_t n = len(raw), i, k = 0
    cdef Py_UCS4 c
    cdef Py_UCS4 *buf
    if e.normaliser == N_PYTHON:
        return e.normalise(raw)
    buf = <Py_UCS4 *> malloc((n + 1) * sizeof(Py_UCS4))
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            c = raw[i]
            if e.normaliser == N_UPPER_ALNUM:
                if u'0' <= c <= u'9' or u'A' <= c <= u'Z':
                    buf[k] = c
                    k += 1
                elif u'a' <= c <= u'z':
                    buf[k] = <Py_UCS4> (<unsigned int> c - 32)
                    k += 1
            elif Py_UNICODE_ISDECIMAL(c):
                buf[k] = c
                k += 1
        if e.normaliser == N_MOBILE and k > 11:
            return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf + k - 11, 11)
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, k)
    finally:
        free(buf)


cdef bint _all_digits(str value):
    """str.isdigit()."""
    cdef Py_ssize_t i, n = len(value)
    if n == 0:
        return False
    for i in range(n):
        if not Py_UNICODE_ISDIGIT(value[i]):
            return False
    return True


cdef double _bank_card(str value):
    """validators.cn_bank_card: shape, Luhn and distinct digits here, the BIN table in Python."""
    cdef Py_ssize_t n = len(value), i
    cdef long total = 0, d
    cdef Py_UCS4 first, second = 0
    cdef int distinct = 1
    if not (16 <= n <= 19 and _all_digits(value)):
        return 0.0
    for i in range(n):  # validators.luhn: ord(ch) - 48, every second digit from the right doubled
        d = <long> (<unsigned int> value[n - 1 - i]) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    if total % 10 != 0:
        return 0.0
    first = value[0]
    for i in range(1, n):  # len(set(value)) <= 2
        if value[i] != first and (distinct == 1 or value[i] != second):
            if distinct == 1:
                second = value[i]
            distinct += 1
            if distinct > 2:
                break
    if distinct <= 2:
        return 0.0
    return validators.card_issuer_confidence(value)


cdef double _mobile(str value):
    """validators.cn_mobile: the shape here, the segment table in Python."""
    if len(value) != 11 or not _all_digits(value):
        return 0.0
    return validators.mobile_segment_confidence(value)


cdef inline double _score_boost(_Entry e, int evidence, double header_boost):
    return (e.boost if evidence > 0 else 0.0) + header_boost


cdef object _evaluate(_Entry e, object m, str text, Py_ssize_t floor, int header, Py_ssize_t record,
                      object column):
    """scoring.evaluate for one confirmed match."""
    cdef Py_ssize_t start, end, mstart
    cdef double header_boost, confidence, total
    cdef int seen
    cdef str raw, value
    if header < 0 and not e.has_group:
        return None
    if e.has_group:
        start, end = m.span(e.group)
    else:
        start, end = m.span()
    mstart = m.start()
    raw = text[start:end]
    header_boost = e.header_boost if header > 0 else 0.0
    if e.masked:
        seen = _evidence(e, text, mstart, _line_bounds(text, mstart, floor))
        total = e.score + _score_boost(e, seen, header_boost)
        if seen < 0 or total < e.threshold:
            return None
        return Finding(e.entity, raw, start, end, min(1.0, total), True, False, _hidden(raw), record,
                       column, seen > 0 or header > 0 or e.has_group)
    value = _normalise(e, raw)
    if e.validator == V_BANK_CARD:
        confidence = _bank_card(value)
    elif e.validator == V_MOBILE:
        confidence = _mobile(value)
    else:
        confidence = e.validate(value)
    if confidence <= 0:
        if e.damage is not None and e.damage(value):
            seen = _evidence(e, text, mstart, _line_bounds(text, mstart, floor))
            if seen >= 0 and _score_boost(e, seen, header_boost):
                return Finding(e.entity, value, start, end, 0.5, False, True, 0, record, column, False)
        return None
    seen = _evidence(e, text, mstart, _line_bounds(text, mstart, floor))
    total = e.score * confidence + _score_boost(e, seen, header_boost)
    if seen < 0 or total < e.threshold:
        return None
    return Finding(e.entity, value, start, end, min(1.0, total), False, False, 0, record, column,
                   seen > 0 or header > 0 or e.has_group)


cdef inline bint _outranks(object f, int priority, object best, int best_priority):
    """decide.rank(f) > decide.rank(best)."""
    cdef double a = round(f.score, 6), b = round(best.score, 6)
    if a != b:
        return a > b
    if priority != best_priority:
        return priority > best_priority
    return (f.end - f.start) > (best.end - best.start)


cdef class Plan:
    """The engine's sorted (definition, labels, pattern) entries, prepared for the compiled loop."""

    cdef list entries

    def __init__(self, entries):
        self.entries = [_Entry(d, labels, p) for d, labels, p in entries]

    def findings(self, str text, list starts, list ids, header_rel=None, cell_starts=None,
                 cell_pos=None):
        """Engine._pattern_findings over candidates given as parallel lists (start, pattern index),
        sorted by (start, index). Text (no header_rel): `record` is the 0-based line number, as
        evidence.with_line_numbers sets it. Table: `cell_starts`/`cell_pos` locate each cell."""
        # Findings hold no cycles: the collections their allocation would trigger only re-walk
        # long-lived objects (about 10% of the loop), so the collector pauses while it runs.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._findings(text, starts, ids, header_rel, cell_starts, cell_pos)
        finally:
            if enabled:
                gc.enable()

    cdef list _findings(self, str text, list starts, list ids, object header_rel, object cell_starts,
                        object cell_pos):
        cdef list found = []
        cdef Py_ssize_t n = len(starts), i = 0, j, pos = 0, start, idx, prev_idx, best_end
        cdef Py_ssize_t floor = 0, row = 0, line = 0, counted = 0, c
        cdef Py_ssize_t ncells = len(cell_starts) if cell_starts is not None else 0
        cdef int best_priority = 0, header
        cdef _Entry e
        cdef object best, f, m, col = None
        cdef bint table = header_rel is not None
        while i < n:
            start = starts[i]
            if start < pos:
                i += 1
                continue
            j = i
            while j < n and starts[j] == start:
                j += 1
            if table:
                c = _bisect_right(cell_starts, ncells, start) - 1
                if c >= 0:
                    floor, row, col = cell_pos[c]
                else:
                    floor, row, col = 0, 0, 0
            best, best_end, prev_idx = None, start, -1
            for k in range(i, j):
                idx = ids[k]
                if idx == prev_idx:
                    continue
                prev_idx = idx
                e = self.entries[idx]
                if best is not None and best.score >= 1.0 and e.priority < best_priority:
                    break
                m = e.match(text, start)
                if m is None:
                    continue
                header = header_rel.get((e.entity, col), 0) if table else 0
                f = _evaluate(e, m, text, floor, header, row, col)
                if f is not None and (best is None or _outranks(f, e.priority, best, best_priority)):
                    best, best_end, best_priority = f, m.end(), e.priority
            i = j
            if best is not None:
                if not table:
                    line += _count_nl(text, counted, best.start)
                    counted = best.start
                    best.record = line
                found.append(best)
                pos = max(best_end, start + 1)
            else:
                pos = start + 1
        return found


cdef Py_ssize_t _count_nl(str text, Py_ssize_t lo, Py_ssize_t hi):
    cdef Py_ssize_t i, n = 0
    for i in range(lo, hi):
        if text[i] == u'\n':
            n += 1
    return n


cdef Py_ssize_t _bisect_right(list a, Py_ssize_t n, Py_ssize_t x):
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if x < <Py_ssize_t> a[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef class HitCollector:
    """Hyperscan's match callback: collects (byte start, pattern index) with no Python frame, then
    converts byte starts to character starts in one pass over the UTF-8."""

    cdef list hits
    cdef bytes data
    cdef const unsigned char *buf
    cdef list consumes

    def __init__(self, bytes data, list consumes):
        self.hits = []
        self.data = data
        self.buf = data
        self.consumes = consumes

    def __call__(self, unsigned int pattern_id, unsigned long long start, unsigned long long end,
                 unsigned int flags, object context):
        cdef unsigned char lead
        if self.consumes[pattern_id]:  # the match may begin with the boundary character: skip it
            if start == 0:
                self.hits.append((0 << 20) | pattern_id)
            lead = self.buf[start]
            start += 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        self.hits.append((<long long> start << 20) | pattern_id)

    def candidates(self):
        """(starts, pattern indices) sorted, starts in characters."""
        cdef list hits = self.hits
        hits.sort()
        cdef Py_ssize_t n = len(hits), i, b = 0, chars = 0, target
        cdef long long h
        cdef list starts = [], ids = []
        cdef const unsigned char *buf = self.buf
        for i in range(n):
            h = hits[i]
            target = h >> 20
            while b < target:
                if (buf[b] & 0xC0) != 0x80:
                    chars += 1
                b += 1
            starts.append(chars)
            ids.append(h & 0xFFFFF)
        return starts, ids


cdef inline bint _han(Py_UCS4 ch):
    cdef unsigned int c = <unsigned int> ch
    return (0x3400 <= c <= 0x4DBF) or (0x4E00 <= c <= 0x9FFF)


cdef inline bint _han_or_dot(Py_UCS4 ch):
    return _han(ch) or (<unsigned int> ch) == 0x00B7


def companion_names(str text, list findings, frozenset direct, object is_name, Py_ssize_t window):
    """evidence.companion_names: surname-led 2-4 Han character tokens within `window` characters of
    an exposed direct identifier on its line. `findings` are sorted by start with line numbers."""
    enabled = gc.isenabled()
    gc.disable()  # as in Plan.findings
    try:
        return _companion_names(text, findings, direct, is_name, window)
    finally:
        if enabled:
            gc.enable()


cdef list _companion_names(str text, list findings, frozenset direct, object is_name, Py_ssize_t window):
    cdef list out = [], on_line, anchors, spans
    cdef dict by_line = {}
    cdef object f
    cdef Py_ssize_t n = len(text), lo, hi, first, s, e, end, run, wlo, whi, k
    cdef bint overlaps
    for f in findings:
        on_line = by_line.get(f.record)
        if on_line is None:
            by_line[f.record] = [f]
        else:
            on_line.append(f)
    for line, on_line in by_line.items():
        anchors = [f for f in on_line if f.entity_type in direct and not f.masked]
        if not anchors:
            continue
        first = (<object> on_line[0]).start
        lo = _rfind_nl(text, 0, first) + 1
        hi = text.find(u"\n", first)
        if hi < 0:
            hi = n
        spans = []  # (start, end) of findings written with Han characters: names, addresses, plates
        for f in on_line:
            if not (<str> text[f.start:f.end]).isascii():
                spans.append((f.start, f.end))
        spans.sort()
        k = 0  # tokens come in text order and findings do not overlap: one pointer, not a scan per token
        for wlo, whi in _windows(anchors, lo, hi, window):
            s = wlo
            while s < whi:
                if not _han(text[s]) or (s > 0 and _han_or_dot(text[s - 1])):
                    s += 1
                    continue
                run = s
                while run < whi and _han(text[run]):
                    run += 1
                # the token is the whole run when it has 2-4 characters and no '·' follows it
                end = run
                if 2 <= end - s <= 4 and not (end < whi and text[end] == u'\u00b7'):
                    while k < len(spans) and spans[k][1] <= s:
                        k += 1
                    overlaps = k < len(spans) and spans[k][0] < end
                    if not overlaps:
                        token = text[s:end]
                        if is_name(token) > 0:
                            out.append(Finding("CN_NAME", token, s, end, 0.6, False, False, 0, line, None,
                                               False))
                s = run if run > s else s + 1
    return out


cdef list _windows(list anchors, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t window):
    """evidence._windows."""
    cdef list merged = []
    cdef Py_ssize_t start, end, last
    for a in sorted(anchors, key=_start_of):
        start, end = max(lo, a.start - window), min(hi, a.end + window)
        last = len(merged) - 1  # no negative indexing: wraparound is off
        if last >= 0 and start <= merged[last][1]:
            merged[last] = (merged[last][0], max(merged[last][1], end))
        else:
            merged.append((start, end))
    return merged


def _start_of(f):
    return f.start
