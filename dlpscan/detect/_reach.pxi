# Included by _core.pyx (HitCollector, for the `hyperscan` binding) and _native.pyx (libhs's C API):
# backends.StartReach in C and the candidate arrays made from the hits, one definition for both. Part
# of both modules' source digests.

cdef struct Reach:  # backends.StartReach: a pattern's starts recovered from its ends (longest 0: by SOM)
    unsigned int shortest, longest
    unsigned char byte[256]  # per byte: REACH_OPENS (can open a match) | REACH_GUARD (may not precede one)


cdef enum:
    REACH_OPENS = 1
    REACH_GUARD = 2
    REACH_MAX_STARTS = 128  # > backends.MAX_REACH + 1: the most starts one end can give


cdef int _set_reach(Reach *r, object reach) except -1:
    """`r` from backends.StartReach's (shortest, longest, guard, first), or cleared for None."""
    cdef int c
    cdef bytes guard, first
    memset(r, 0, sizeof(Reach))
    if reach is None:
        return 0
    shortest, longest, guard, first = reach
    if not 0 < shortest <= longest < REACH_MAX_STARTS - 1 or len(guard) != 16 or len(first) != 16:
        raise ValueError("not a start reach")
    r.shortest, r.longest = shortest, longest
    for c in range(0x80):
        if (first[c >> 3] >> (c & 7)) & 1:
            r.byte[c] |= REACH_OPENS
        if (guard[c >> 3] >> (c & 7)) & 1:
            r.byte[c] |= REACH_GUARD
    return 0


cdef inline bint _all_ascii(const unsigned char *buf, Py_ssize_t n) noexcept nogil:
    """Are the n bytes at buf all ASCII? Eight at a time."""
    cdef unsigned long long w
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        memcpy(&w, buf + i, 8)
        if w & 0x8080808080808080ULL:
            return False
        i += 8
    while i < n:
        if buf[i] & 0x80:
            return False
        i += 1
    return True


cdef int _reach_starts(const Reach *r, const unsigned char *data, unsigned long long end,
                       unsigned long long *starts) noexcept nogil:
    """backends.reach_starts: the byte starts `shortest` to `longest + 1` characters before `end`
    that `r` allows, written to `starts` (room for REACH_MAX_STARTS); returns how many. The first
    `shortest` characters back are stepped over at once where they are ASCII (digit runs), and a run
    of guard characters, one byte each, quickly."""
    cdef unsigned long long p = end
    cdef unsigned int back = 0, last = r.longest + 1
    cdef int n = 0
    if end >= r.shortest and _all_ascii(data + end - r.shortest, r.shortest):
        back = r.shortest  # one byte per character, and no start closer than `shortest`
        p = end - r.shortest
    while True:
        if p == 0:
            if back >= r.shortest and r.byte[data[0]] & REACH_OPENS:
                starts[n] = 0
                n += 1
            return n
        if r.byte[data[p - 1]] & REACH_GUARD:  # p follows a guard character: no start
            if back >= last:
                return n
            p -= 1
            back += 1
            continue
        if back >= r.shortest and r.byte[data[p]] & REACH_OPENS:
            starts[n] = p
            n += 1
        if back >= last:
            return n
        p -= 1
        while p > 0 and (data[p] & 0xC0) == 0x80:
            p -= 1
        back += 1


import array as _candidate_array

cdef inline Py_ssize_t _utf8_chars(const unsigned char *buf, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """The characters of the UTF-8 buf[lo:hi] (the bytes that are not continuation bytes, 10xxxxxx),
    eight bytes at a time: a 1 in each continuation byte, summed into the top byte by one multiply
    (portable; a popcount is a library call without -mpopcnt)."""
    cdef Py_ssize_t count = hi - lo
    cdef unsigned long long w
    while lo + 8 <= hi:
        memcpy(&w, buf + lo, 8)
        count -= (((w & ~(w << 1) & 0x8080808080808080ULL) >> 7) * 0x0101010101010101ULL) >> 56
        lo += 8
    while lo < hi:
        count -= (buf[lo] & 0xC0) == 0x80
        lo += 1
    return count

cdef array.array _CANDIDATE_ARRAY = _candidate_array.array("q")  # the template of candidate arrays


cdef tuple _candidate_lists(const long long *items, Py_ssize_t n, const unsigned char *buf, Py_ssize_t extra):
    """Hits sorted as (byte start << 20) | pattern index -> (starts in characters, pattern indices)
    without repeats, as typed arrays ('q': no Python int per candidate; the compiled loop reads
    them as C arrays): backends.HyperscanScanner.candidates. With `extra` >= 0, the patterns from
    index `extra` on apart: (starts, ids, extra starts, extra ids counted from `extra`)."""
    cdef Py_ssize_t i, b = 0, chars = 0, target, idx, k = 0, x = 0
    cdef array.array starts = array.clone(_CANDIDATE_ARRAY, n, False)
    cdef array.array ids = array.clone(_CANDIDATE_ARRAY, n, False)
    cdef array.array extra_starts = array.clone(_CANDIDATE_ARRAY, n if extra >= 0 else 0, False)
    cdef array.array extra_ids = array.clone(_CANDIDATE_ARRAY, n if extra >= 0 else 0, False)
    cdef long long *s = starts.data.as_longlongs
    cdef long long *d = ids.data.as_longlongs
    cdef long long *xs = extra_starts.data.as_longlongs
    cdef long long *xd = extra_ids.data.as_longlongs
    for i in range(n):
        if i and items[i] == items[i - 1]:  # a start reached from two ends
            continue
        target = items[i] >> 20
        chars += _utf8_chars(buf, b, target)
        b = target
        idx = items[i] & 0xFFFFF
        if 0 <= extra <= idx:
            xs[x], xd[x] = chars, idx - extra
            x += 1
        else:
            s[k], d[k] = chars, idx
            k += 1
    array.resize(starts, k)
    array.resize(ids, k)
    if extra < 0:
        return starts, ids
    array.resize(extra_starts, x)
    array.resize(extra_ids, x)
    return starts, ids, extra_starts, extra_ids
