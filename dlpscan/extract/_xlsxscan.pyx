# cython: boundscheck=False, wraparound=False, cdivision=True
"""xlsxcheck's searches over one piece of a worksheet, in one pass over its bytes.

xlsxcheck._piece_flags is the reference: six regular-expression searches, each a pass over the
piece (about 0.25 s of CPU per 60 MB of sheet XML, as much as a sixth of scanning a dense export).
Here the bytes that can start any of them ('<', ':', '=') are looked at once, and the rest skipped.
tests/test_extract_hostile.py holds the two to the same answers.
"""

from libc.string cimport memcmp

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
