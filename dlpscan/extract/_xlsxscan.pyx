# cython: boundscheck=False, wraparound=False, cdivision=True
"""One pass over a worksheet's XML bytes: xlsxcheck's searches, and xlsxfast's reading of a sheet of
inline strings and plain numbers.

xlsxcheck._piece_flags is the reference of `piece_flags`: six regular-expression searches, each a pass
over the piece (about 0.25 s of CPU per 60 MB of sheet XML, as much as a sixth of scanning a dense
export). Here the bytes that can start any of them ('<', ':', '=') are looked at once, and the rest
skipped. tests/test_extract_hostile.py holds the two to the same answers.

calamine is the reference of `inline_sheet`, which reads only the cells it reads just so and answers
None for any other sheet; tests/test_xlsxfast.py holds the two to the same rows.
"""

from libc.string cimport memchr, memcmp, memcpy

cdef extern from *:
    const char *DLPSCAN_SOURCE_DIGEST  # SHA-256 of this file, set by hatch_build.py

SOURCE_DIGEST = DLPSCAN_SOURCE_DIGEST.decode("ascii")

cdef enum:  # the flags xlsxcheck._piece_flags answers (STRINGS_OVER, IRREGULAR there)
    _STRINGS_OVER = 1  # a shared-string table declares more strings than allowed
    _IRREGULAR = 2  # at or after `start`: an unusual form, or a reference beyond the bounds

cdef unsigned char _TRIGGER[256]
cdef unsigned char _SPACE[256]  # re's \s for bytes: space, \t, \n, \r, \f, \v
for _i in range(256):
    _TRIGGER[_i] = _i in b"<:="
    _SPACE[_i] = _i in b" \t\n\r\f\v"


cdef inline bint _letter(unsigned char c) noexcept nogil:
    return (65 <= c <= 90) or (97 <= c <= 122)


cdef inline bint _digit(unsigned char c) noexcept nogil:
    return 48 <= c <= 57


cdef bint _strings_over(const unsigned char *p, Py_ssize_t n, Py_ssize_t eq, long long strings) noexcept nogil:
    """Is the '=' at `eq` that of `uniqueCount\\s*=\\s*["']([0-9]{1,20})(?![0-9])` with a count above
    `strings`?"""
    cdef Py_ssize_t j = eq - 1, k = eq + 1, d, m
    cdef long long value = 0
    while j >= 0 and _SPACE[p[j]]:
        j -= 1
    if j < 10 or memcmp(p + j - 10, b"uniqueCount", 11) != 0:
        return False
    while k < n and _SPACE[p[k]]:
        k += 1
    if k >= n or (p[k] != 34 and p[k] != 39):  # '"' or "'"
        return False
    k += 1
    d = k
    while d < n and _digit(p[d]):
        d += 1
    m = d - k
    if m < 1 or m > 20:
        return False
    while k < d - 1 and p[k] == 48:  # leading zeros
        k += 1
    if d - k > 18:  # at least 10**18: above any limit
        return True
    while k < d:
        value = value * 10 + (p[k] - 48)
        k += 1
    return value > strings


cdef bint _beyond(const unsigned char *p, Py_ssize_t n, Py_ssize_t k, long long columns, int row_digits,
                  int row_first) noexcept nogil:
    """After `r="` at `k`: a reference whose column letters count past `columns`, or whose row
    (written with `row_digits` or more digits, first at least `row_first`) reaches past the rows."""
    cdef Py_ssize_t j = k, d, m
    cdef long long column = 0
    cdef bint far_column = False
    while j < n and _letter(p[j]):
        if not far_column:
            column = column * 26 + ((p[j] | 32) - 96)
            far_column = column > columns  # only grows with more letters
        j += 1
    if j == k or j >= n or not _digit(p[j]):
        return False
    if far_column:
        return True
    d = j
    while d < n and _digit(p[d]):
        d += 1
    m = d - j
    if d >= n or p[d] != 34:
        return False
    return m > row_digits or (m == row_digits and p[j] - 48 >= row_first)


def piece_flags(bytes piece, Py_ssize_t start, long long strings, long long columns, int row_digits,
                int row_first):
    """xlsxcheck._piece_flags(piece, start, strings, bounds) with the bounds as (columns, row digits,
    first row digit); columns 0: no bounds (before <sheetData>), nothing is irregular."""
    cdef const unsigned char *p = piece
    cdef Py_ssize_t n = len(piece), i
    cdef unsigned char c, nb
    cdef int flags = 0
    cdef bint checking = columns > 0
    with nogil:
        for i in range(n):
            c = p[i]
            if not _TRIGGER[c]:
                continue
            if c == 61:  # '='
                if not (flags & _STRINGS_OVER) and _strings_over(p, n, i, strings):
                    flags |= _STRINGS_OVER
                if not checking or i < start or flags & _IRREGULAR:
                    continue
                if i + 1 >= n or p[i + 1] != 34:  # an '=' not followed by '"'
                    flags |= _IRREGULAR
                elif i > start and (p[i - 1] == 32 or p[i - 1] == 9 or p[i - 1] == 10 or p[i - 1] == 13):
                    flags |= _IRREGULAR  # white space before an '='
                elif i > start and p[i - 1] == 114 and _beyond(p, n, i + 2, columns, row_digits, row_first):
                    flags |= _IRREGULAR  # r="…" beyond the bounds
                continue
            if not checking or i < start or flags & _IRREGULAR or i + 2 >= n or p[i + 1] != 99:  # 'c'
                continue
            nb = p[i + 2]
            if c == 60:  # '<c' followed by a space and no r=", or by \t \n \r / >
                if nb == 32:
                    if not (i + 5 < n and p[i + 3] == 114 and p[i + 4] == 61 and p[i + 5] == 34):
                        flags |= _IRREGULAR
                elif nb == 9 or nb == 10 or nb == 13 or nb == 47 or nb == 62:
                    flags |= _IRREGULAR
            elif nb == 9 or nb == 10 or nb == 13 or nb == 32 or nb == 47 or nb == 62:  # ':c' and those
                flags |= _IRREGULAR
    return flags


# ---- the cells of a sheet of inline strings and plain numbers (xlsxfast) -------------------------

from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdlib cimport free, realloc

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void *o)
    char *PyOS_double_to_string(double val, char format_code, int precision, int flags, int *type)
    double PyOS_string_to_double(const char *s, char **endptr, void *overflow_exception) except? -1.0
    void PyMem_Free(void *p)
    object PyList_AsTuple(object o)

cdef enum:
    _MAX_ROW = 1048576
    _MAX_COLUMN = 16384


cdef class _Cursor:
    cdef const unsigned char *p
    cdef Py_ssize_t i, n

    cdef inline void spaces(self) noexcept:
        while self.i < self.n and _SPACE[self.p[self.i]]:
            self.i += 1

    cdef inline bint take(self, const char *word, Py_ssize_t size) noexcept:
        """Skips `word` where it comes next."""
        if self.i + size <= self.n and memcmp(self.p + self.i, word, size) == 0:
            self.i += size
            return True
        return False

    cdef inline bint tag_end(self) noexcept:
        """Right after a tag's name: white space, '>' or '/' (not a longer name)."""
        return self.i < self.n and (_SPACE[self.p[self.i]] or self.p[self.i] == 62 or self.p[self.i] == 47)


cdef inline bint _name_char(unsigned char c) noexcept:
    return _digit(c) or c == 95 or c == 45 or c == 46


cdef Py_ssize_t _attribute(_Cursor c, Py_ssize_t *name, Py_ssize_t *name_size, Py_ssize_t *value,
                           Py_ssize_t *value_size) noexcept:
    """The next attribute name="value" of a tag: 1; the tag's end: 0 ('>') or 2 ('/>'); -1: anything else."""
    c.spaces()
    if c.take(b">", 1):
        return 0
    if c.take(b"/>", 2):
        return 2
    name[0] = c.i
    while c.i < c.n and (_letter(c.p[c.i]) or c.p[c.i] == 58 or (c.i > name[0] and _name_char(c.p[c.i]))):
        c.i += 1  # a letter, then letters, ':', digits, '_', '-' and '.' (x14ac:dyDescent, xml:space)
    name_size[0] = c.i - name[0]
    if name_size[0] == 0 or not c.take(b'="', 2):
        return -1
    value[0] = c.i
    while c.i < c.n and c.p[c.i] != 34 and c.p[c.i] != 60 and c.p[c.i] != 38:
        c.i += 1
    if c.i >= c.n or c.p[c.i] != 34:
        return -1
    value_size[0] = c.i - value[0]
    c.i += 1
    return 1


cdef inline bint _named(_Cursor c, Py_ssize_t at, Py_ssize_t size, const char *word, Py_ssize_t word_size) noexcept:
    return size == word_size and memcmp(c.p + at, word, size) == 0


cdef long long _number(_Cursor c, Py_ssize_t at, Py_ssize_t size) noexcept:
    """Decimal digits as a number; -1 when they are not (or too many)."""
    cdef long long v = 0
    cdef Py_ssize_t k
    if size < 1 or size > 9:
        return -1
    for k in range(at, at + size):
        if not _digit(c.p[k]):
            return -1
        v = v * 10 + (c.p[k] - 48)
    return v


cdef object _text(_Cursor c, Py_ssize_t at, Py_ssize_t size):
    """Text of a <t> element as calamine reads it, or None where it may read it otherwise: a character
    reference, an _xHHHH_ escape, a carriage return (line ends normalised), bytes that are not UTF-8."""
    cdef Py_ssize_t k, j = 0
    cdef bytearray out
    cdef const unsigned char *p = c.p + at
    cdef const unsigned char *under = p
    if memchr(p, 13, size) != NULL:  # '\r'
        return None
    while True:  # '_x'
        under = <const unsigned char *> memchr(under, 95, size - (under - p))
        if under == NULL:
            break
        under += 1
        if under < p + size and under[0] == 120:
            return None
    if memchr(p, 38, size) == NULL:  # no '&'
        try:
            return PyUnicode_DecodeUTF8(<const char *> p, size, NULL)
        except UnicodeDecodeError:
            return None
    out = bytearray(size)
    k = 0
    while k < size:
        if p[k] != 38:
            out[j] = p[k]
            j += 1
            k += 1
        elif k + 5 <= size and memcmp(p + k, b"&amp;", 5) == 0:
            out[j] = 38; j += 1; k += 5
        elif k + 4 <= size and memcmp(p + k, b"&lt;", 4) == 0:
            out[j] = 60; j += 1; k += 4
        elif k + 4 <= size and memcmp(p + k, b"&gt;", 4) == 0:
            out[j] = 62; j += 1; k += 4
        elif k + 6 <= size and memcmp(p + k, b"&quot;", 6) == 0:
            out[j] = 34; j += 1; k += 6
        elif k + 6 <= size and memcmp(p + k, b"&apos;", 6) == 0:
            out[j] = 39; j += 1; k += 6
        else:
            return None
    try:
        return bytes(out[:j]).decode("utf-8")
    except UnicodeDecodeError:
        return None


cdef object _float(_Cursor c, Py_ssize_t at, Py_ssize_t size):
    """A <v> of -?digits[.digits][e[+-]digits] as a float (Rust's and Python's readings agree on these);
    None for anything else (calamine may keep it as text)."""
    cdef Py_ssize_t k = at, end = at + size, d
    cdef char buf[64]
    if size < 1 or size > 60:
        return None
    if c.p[k] == 45:
        k += 1
    d = k
    while k < end and _digit(c.p[k]):
        k += 1
    if k == d:
        return None
    if k < end and c.p[k] == 46:
        k += 1
        d = k
        while k < end and _digit(c.p[k]):
            k += 1
        if k == d:
            return None
    if k < end and (c.p[k] == 101 or c.p[k] == 69):
        k += 1
        if k < end and (c.p[k] == 43 or c.p[k] == 45):
            k += 1
        d = k
        while k < end and _digit(c.p[k]):
            k += 1
        if k == d:
            return None
    if k != end:
        return None
    memcpy(buf, c.p + at, size)
    buf[size] = 0
    return PyOS_string_to_double(buf, NULL, NULL)  # float()'s reading, whatever the C locale


cdef int _enter(_Cursor c, bytes xml, bytes tag) except -2:
    """Places `c` in the first `tag` element of `xml` (b"<sst", b"<sheetData"), past its start tag: 1;
    2 when the element is empty (<tag …/>); 0 when there is none; -1 when its start tag is not read."""
    cdef Py_ssize_t at = xml.find(tag), name, name_size, value, value_size
    cdef int state
    if at < 0:
        return 0
    c.p, c.n, c.i = xml, len(xml), at + len(tag)
    if not c.tag_end():
        return -1
    while (state := _attribute(c, &name, &name_size, &value, &value_size)) == 1:
        pass
    return -1 if state < 0 else 1 if state == 0 else 2


cdef inline Py_ssize_t _text_run(_Cursor c) noexcept:
    """Past an element's text, up to the next '<'; returns where the text began."""
    cdef Py_ssize_t at = c.i
    cdef const void *lt = memchr(c.p + c.i, 60, c.n - c.i) if c.i < c.n else NULL
    c.i = c.n if lt == NULL else <const unsigned char *> lt - c.p
    return at


cdef object _t_element(_Cursor c):
    """The text of the <t> element that comes next (its '<t' not yet read) as calamine reads it: trimmed
    of white space unless xml:space="preserve"; None where calamine may read it otherwise."""
    cdef Py_ssize_t name, name_size, value, value_size, text_at, text_end
    cdef int state
    cdef bint preserve = False
    cdef object v
    if not (c.take(b"<t", 2) and c.tag_end()):
        return None
    while True:
        state = _attribute(c, &name, &name_size, &value, &value_size)
        if state != 1:
            break
        if not (_named(c, name, name_size, b"xml:space", 9) and _named(c, value, value_size, b"preserve", 8)):
            return None
        preserve = True
    if state < 0:
        return None
    if state == 2:  # <t/>
        return ""
    text_at = _text_run(c)
    text_end = c.i
    if not preserve:  # calamine trims the text of a <t> without xml:space="preserve"
        while text_at < text_end and _SPACE[c.p[text_at]]:
            text_at += 1
        while text_end > text_at and _SPACE[c.p[text_end - 1]]:
            text_end -= 1
        if text_end == text_at and c.p[c.i - 1] != 62:  # '>': the text was white space only:
            return None  # calamine's reading is its own
    v = _text(c, text_at, text_end - text_at)
    if v is None or not c.take(b"</t>", 4):
        return None
    return v


cdef bint _skip_to(_Cursor c, const char *end, Py_ssize_t size) noexcept:
    """Past the next `end` (the close of an element whose content is not read); False: none."""
    while c.i + size <= c.n:
        if c.p[c.i] == 60 and memcmp(c.p + c.i, end, size) == 0:
            c.i += size
            return True
        c.i += 1
    return False


def shared_strings(bytes xml):
    """The strings of a sharedStrings.xml as calamine reads them: each <si> of one <t>, or of rich-text
    runs <r>[<rPr>…</rPr>]<t>…</t></r> joined, phonetic runs <rPh> and <phoneticPr> left out; None where
    calamine may read one otherwise."""
    cdef _Cursor c = _Cursor()
    cdef Py_ssize_t name, name_size, value, value_size
    cdef int state = _enter(c, xml, b"<sst")
    cdef list out = []
    cdef object v, first, parts
    PyObject_GC_UnTrack(<void *> out)  # strings only: the cyclic collector need not walk them
    if state <= 0:
        return None
    if state == 2:  # <sst …/>
        return out
    while True:
        c.spaces()
        if c.take(b"</sst>", 6):
            return out
        if not c.take(b"<si>", 4):
            return None
        parts = None
        first = None
        while True:
            c.spaces()
            if c.take(b"</si>", 5):
                break
            if c.i + 2 < c.n and memcmp(c.p + c.i, b"<t", 2) == 0:
                v = _t_element(c)
            elif c.take(b"<r>", 3):
                c.spaces()
                if c.take(b"<rPr>", 5) and not _skip_to(c, b"</rPr>", 6):
                    return None
                c.spaces()
                v = _t_element(c)
                c.spaces()
                if v is not None and not c.take(b"</r>", 4):
                    return None
            elif c.take(b"<rPh", 4):
                if not (c.tag_end() and _skip_to(c, b"</rPh>", 6)):
                    return None
                continue
            elif c.take(b"<phoneticPr", 11):
                if not c.tag_end():
                    return None
                while (state := _attribute(c, &name, &name_size, &value, &value_size)) == 1:
                    pass
                if state != 2:
                    return None
                continue
            else:
                return None
            if v is None:
                return None
            if first is None:  # most strings: one <t>, no list
                first = v
            else:
                if parts is None:
                    parts = [first]
                parts.append(v)
        out.append("".join(parts) if parts is not None else first if first is not None else "")


cdef class _Places:
    """Where each value found so far goes: 0-based rows and columns, in C arrays that grow."""
    cdef int *rows
    cdef int *cols
    cdef Py_ssize_t size, room

    def __dealloc__(self):
        free(self.rows)
        free(self.cols)

    cdef int add(self, long long row, long long col) except -1:
        cdef int *more_rows
        cdef int *more_cols
        if self.size == self.room:
            self.room = max(1024, self.room * 2)
            more_rows = <int *> realloc(self.rows, self.room * sizeof(int))
            if more_rows == NULL:
                raise MemoryError()
            self.rows = more_rows
            more_cols = <int *> realloc(self.cols, self.room * sizeof(int))
            if more_cols == NULL:
                raise MemoryError()
            self.cols = more_cols
        self.rows[self.size] = <int> row
        self.cols[self.size] = <int> col
        self.size += 1
        return 0


def read_sheet(bytes xml, list strings, bytes plain_styles, long long max_cells, double render_below):
    """A worksheet's XML read as calamine reads it, where every cell is one it reads just so: an inline
    string `<c r="…" [s="…"] t="inlineStr"><is><t>…</t></is></c>`, a shared string `<c r="…" [s="…"]
    t="s"><v>index</v></c>` of `strings` (shared_strings'), a number `<c r="…" [s="…"] [t="n"]><v>…</v>
    </c>` whose style (0 without one) `plain_styles` marks as one that calamine reads as a number (None:
    the workbook has no styles, every number is plain), or a cell without a value (outside calamine's
    range), in rows and columns that only ascend. Returns (first row, height, width, rows): calamine's
    range from its first row and column, "" where no value is (rows None when height x width is over
    `max_cells`); None for any other sheet, which calamine reads. A number below `render_below` (in
    magnitude) is rendered as format(number, ".15g"), as tables.render_row renders it, and a row of text
    only is a tuple, rendered; a row that still holds a number is a list, for render_row."""
    cdef _Places places = _Places()
    cdef list values = []
    cdef long long first_row, first_col, last_row_seen = -1, last_col_seen = -1, height, width
    cdef Py_ssize_t i, k
    cdef list out, line
    cdef tuple row
    PyObject_GC_UnTrack(<void *> values)  # strings and floats: each collection walked them all
    if not _cells(xml, strings, plain_styles, places, values):
        return None
    if places.size == 0:
        return 0, 0, 0, []
    first_row, first_col = places.rows[0], _MAX_COLUMN
    for i in range(places.size):
        first_col = min(first_col, places.cols[i])
        last_col_seen = max(last_col_seen, places.cols[i])
    last_row_seen = places.rows[places.size - 1]
    height, width = last_row_seen - first_row + 1, last_col_seen - first_col + 1
    if height * width > max_cells:
        return first_row, height, width, None
    out = PyList_New(height)
    PyObject_GC_UnTrack(<void *> out)  # the rows, untracked as well
    for i in range(height):
        line = PyList_New(width)
        for k in range(width):
            Py_INCREF("")
            PyList_SET_ITEM(line, k, "")
        PyObject_GC_UnTrack(<void *> line)  # strings and floats only: in no reference cycle
        Py_INCREF(line)
        PyList_SET_ITEM(out, i, line)
    for i in range(places.size):
        line = <list> out[places.rows[i] - first_row]
        line[places.cols[i] - first_col] = values[i]
    for i in range(height):
        line = <list> out[i]
        if _render(line, render_below):
            row = PyList_AsTuple(line)
            PyObject_GC_UnTrack(<void *> row)  # as the lists: the cyclic collector need not walk them
            out[i] = row
    return first_row, height, width, out


cdef bint _render(list line, double below) except -1:
    """Each float of `line` below `below` in magnitude as format(value, ".15g"); True when no float is
    left (the line is all text)."""
    cdef Py_ssize_t k
    cdef double number
    cdef char *text
    cdef bint rendered = True
    for k in range(len(line)):
        if type(line[k]) is not float:
            continue
        number = <double> line[k]
        if not -below < number < below:
            rendered = False
            continue
        text = PyOS_double_to_string(number, b"g", 15, 0, NULL)
        if text == NULL:
            raise MemoryError()
        try:
            line[k] = text.decode("ascii")
        finally:
            PyMem_Free(text)
    return rendered


cdef bint _cells(bytes xml, list strings, bytes plain_styles, _Places places, list values) except -1:
    """read_sheet's walk: each value and its place; False at a cell calamine may read otherwise."""
    cdef _Cursor c = _Cursor()
    cdef Py_ssize_t name, name_size, value, value_size, text_at
    cdef long long row, last_row = -1, col, last_col, ref_row
    cdef int state = _enter(c, xml, b"<sheetData")
    cdef bint inline, shared
    cdef long long style
    cdef long long index
    cdef object v
    if state == 0:  # no cells, or a prefixed <x:sheetData> (calamine's own reading)
        return xml.find(b":sheetData") < 0
    if state < 0:
        return False
    if state == 2:  # <sheetData …/>
        return True
    while True:
        c.spaces()
        if c.take(b"</sheetData>", 12):
            return True
        if not (c.take(b"<row", 4) and c.tag_end()):
            return False
        row = -1
        while True:
            state = _attribute(c, &name, &name_size, &value, &value_size)
            if state != 1:
                break
            if _named(c, name, name_size, b"r", 1):
                row = _number(c, value, value_size)
        if state < 0 or row < 1 or row > _MAX_ROW or row <= last_row:
            return False
        last_row, last_col = row, -1
        if state == 2:  # <row …/>
            continue
        while True:
            c.spaces()
            if c.take(b"</row>", 6):
                break
            if not (c.take(b"<c", 2) and c.tag_end()):
                return False
            col, style, inline, shared = -1, 0, False, False
            while True:
                state = _attribute(c, &name, &name_size, &value, &value_size)
                if state != 1:
                    break
                if _named(c, name, name_size, b"r", 1):
                    col, ref_row = 0, 0
                    while value_size > 0 and _letter(c.p[value]) and col <= _MAX_COLUMN:
                        col = col * 26 + ((c.p[value] | 32) - 96)
                        value += 1
                        value_size -= 1
                    ref_row = _number(c, value, value_size)
                    if col < 1 or col > _MAX_COLUMN or ref_row != row:
                        return False
                elif _named(c, name, name_size, b"s", 1):
                    style = _number(c, value, value_size)
                elif _named(c, name, name_size, b"t", 1):
                    if _named(c, value, value_size, b"inlineStr", 9):
                        inline = True
                    elif _named(c, value, value_size, b"s", 1):
                        shared = True
                    elif not _named(c, value, value_size, b"n", 1):
                        return False
                else:
                    return False
            if state < 0 or col <= last_col:
                return False
            last_col = col
            if state == 2:  # an empty cell, outside calamine's range; an empty string's is not known
                if inline or shared:
                    return False
                continue
            c.spaces()
            if inline:
                if not c.take(b"<is>", 4):
                    return False
                c.spaces()
                v = _t_element(c)
                if v is None:
                    return False
                c.spaces()
                if not c.take(b"</is>", 5):
                    return False
            elif shared:
                if strings is None or not c.take(b"<v>", 3):
                    return False
                text_at = _text_run(c)
                index = _number(c, text_at, c.i - text_at)
                if index < 0 or index >= len(strings) or not c.take(b"</v>", 4):
                    return False
                v = strings[index]
            else:
                if plain_styles is not None and not (0 <= style < len(plain_styles) and plain_styles[style]):
                    return False  # a style that may make the number a date, or one not in the table
                if not c.take(b"<v>", 3):
                    return False
                text_at = _text_run(c)
                v = _float(c, text_at, c.i - text_at)
                if v is None or not c.take(b"</v>", 4):
                    return False
            c.spaces()
            if not c.take(b"</c>", 4):
                return False
            places.add(row - 1, col - 1)
            values.append(v)
