# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""C libraries called directly, without a Python frame per match or per value: Hyperscan's C API
(libhs) collects the candidate starts of a block into a C array, OpenSSL's SHA-256 computes keyed
fingerprints from precomputed HMAC pads.

Optional like `_core`: built when libhyperscan-dev and libssl-dev are installed (hatch_build.py).
Without it dlpscan uses the `hyperscan` binding with a callback per match and `hashlib`; both give
the same candidates and digests (tests/test_native.py).
"""

from cpython cimport array
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcmp, memcpy, memset



cdef extern from *:
    const char *DLPSCAN_SOURCE_DIGEST  # SHA-256 of this file, set by hatch_build.py

SOURCE_DIGEST = DLPSCAN_SOURCE_DIGEST.decode("ascii")

cdef extern from "hs/hs.h" nogil:
    ctypedef struct hs_database_t:
        pass
    ctypedef struct hs_scratch_t:
        pass
    ctypedef struct hs_platform_info_t:
        pass
    ctypedef struct hs_compile_error_t:
        char *message
        int expression
    ctypedef int (*match_event_handler)(unsigned int id, unsigned long long start, unsigned long long end,
                                        unsigned int flags, void *context) noexcept nogil
    int HS_SUCCESS
    unsigned int HS_MODE_BLOCK
    int hs_compile_multi(const char *const *expressions, const unsigned int *flags, const unsigned int *ids,
                         unsigned int elements, unsigned int mode, const hs_platform_info_t *platform,
                         hs_database_t **db, hs_compile_error_t **error)
    int hs_free_compile_error(hs_compile_error_t *error)
    int hs_free_database(hs_database_t *db)
    int hs_alloc_scratch(const hs_database_t *db, hs_scratch_t **scratch)
    int hs_free_scratch(hs_scratch_t *scratch)
    int hs_scan(const hs_database_t *db, const char *data, unsigned int length, unsigned int flags,
                hs_scratch_t *scratch, match_event_handler onEvent, void *context)
    int hs_serialize_database(const hs_database_t *db, char **bytes, size_t *length)
    int hs_deserialize_database(const char *bytes, const size_t length, hs_database_t **db)
    const char *hs_version()


cdef extern from *:
    """
    #define OPENSSL_SUPPRESS_DEPRECATED 1
    #include <openssl/sha.h>
    """
    ctypedef struct SHA256_CTX:
        unsigned int h[8]  # the chaining state; after a pad's 64 bytes, where a short HMAC starts
    int SHA256_Init(SHA256_CTX *c) nogil
    int SHA256_Update(SHA256_CTX *c, const void *data, size_t n) nogil
    int SHA256_Final(unsigned char *md, SHA256_CTX *c) nogil


def library_version():
    """libhs's version string (part of the compiled-database cache key)."""
    return (<bytes> hs_version()).decode("ascii", "replace")


# ---- Hyperscan -----------------------------------------------------------------------------------

include "_reach.pxi"
include "_utf8.pxi"


cdef struct Hits:
    long long *items  # (byte start << 20) | pattern index
    Py_ssize_t n, cap
    const Reach *reaches
    const unsigned char *data
    const unsigned char *consumes
    bint failed


cdef int _on_match(unsigned int pattern_id, unsigned long long start, unsigned long long end,
                   unsigned int flags, void *context) noexcept nogil:
    cdef Hits *h = <Hits *> context
    cdef unsigned char lead
    if h.reaches[pattern_id].longest:
        return 0 if _push_reach(h, pattern_id, end) else 1
    if h.consumes[pattern_id]:  # the match may begin with the boundary character: skip it
        if start == 0 and not _push(h, pattern_id):
            return 1
        lead = h.data[start]
        start += 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return 0 if _push(h, (<long long> start << 20) | pattern_id) else 1


cdef bint _push_reach(Hits *h, unsigned int pattern_id, unsigned long long end) noexcept nogil:
    cdef unsigned long long starts[REACH_MAX_STARTS]
    cdef int i, n = _reach_starts(&h.reaches[pattern_id], h.data, end, starts)
    for i in range(n):
        if not _push(h, (<long long> starts[i] << 20) | pattern_id):
            return False
    return True


cdef inline bint _push(Hits *h, long long item) noexcept nogil:
    cdef long long *grown
    if h.n == h.cap:
        grown = <long long *> realloc(h.items, (h.cap * 2 + 1024) * sizeof(long long))
        if grown == NULL:
            h.failed = True
            return False
        h.items, h.cap = grown, h.cap * 2 + 1024
    h.items[h.n] = item
    h.n += 1
    return True


# ---- Sorting: LSD radix sorts, linear (libc's qsort, called back per comparison, was more than half
# of fingerprinting the values of a dense export) -------------------------------------------------

cdef bint _radix_sort(unsigned long long *keys, unsigned int *tags, Py_ssize_t n) noexcept nogil:
    """Sorts `keys` ascending, stably, moving `tags` (NULL: none) with them: one pass counts all eight
    bytes, then one pass per byte that differs between keys. False: out of memory."""
    cdef unsigned long long *key_tmp
    cdef unsigned int *tag_tmp = NULL
    cdef Py_ssize_t (*count)[256]
    cdef Py_ssize_t i, total, c, pos
    cdef int b
    cdef unsigned int digit
    cdef unsigned long long key
    if n < 2:
        return True
    key_tmp = <unsigned long long *> malloc(n * sizeof(unsigned long long))
    count = <Py_ssize_t (*)[256]> malloc(8 * 256 * sizeof(Py_ssize_t))
    if tags != NULL:
        tag_tmp = <unsigned int *> malloc(n * sizeof(unsigned int))
    if key_tmp == NULL or count == NULL or (tags != NULL and tag_tmp == NULL):
        free(key_tmp)
        free(count)
        free(tag_tmp)
        return False
    memset(count, 0, 8 * 256 * sizeof(Py_ssize_t))
    for i in range(n):
        key = keys[i]
        for b in range(8):
            count[b][(key >> (8 * b)) & 0xFF] += 1
    for b in range(8):
        if count[b][(keys[0] >> (8 * b)) & 0xFF] == n:
            continue  # every key has this byte: the pass would not move anything
        total = 0
        for c in range(256):
            total, count[b][c] = total + count[b][c], total
        for i in range(n):
            digit = (keys[i] >> (8 * b)) & 0xFF
            pos = count[b][digit]
            count[b][digit] = pos + 1
            key_tmp[pos] = keys[i]
            if tags != NULL:
                tag_tmp[pos] = tags[i]
        memcpy(keys, key_tmp, n * sizeof(unsigned long long))
        if tags != NULL:
            memcpy(tags, tag_tmp, n * sizeof(unsigned int))
    free(key_tmp)
    free(count)
    free(tag_tmp)
    return True


cdef bint _sort_digests(unsigned char *digests, Py_ssize_t n, unsigned char *flags=NULL) noexcept nogil:
    """Sorts n 32-byte digests in place (memcmp order), and `flags` (NULL: none, else a byte per
    digest) with them: by their first 8 bytes as a big-endian number, then, within the rare runs that
    share those and are not one digest repeated, by all 32. False: out of memory."""
    cdef unsigned long long *keys = <unsigned long long *> malloc(max(1, n) * sizeof(unsigned long long))
    cdef unsigned int *order = <unsigned int *> malloc(max(1, n) * sizeof(unsigned int))
    cdef unsigned char *out = <unsigned char *> malloc(max(1, n) * 32)
    cdef unsigned char *out_flags = <unsigned char *> malloc(max(1, n)) if flags != NULL else NULL
    cdef Py_ssize_t i, run
    cdef int k
    cdef unsigned long long key
    if (keys == NULL or order == NULL or out == NULL or (flags != NULL and out_flags == NULL)
            or n > <Py_ssize_t> 0xFFFFFFFF):
        free(keys)
        free(order)
        free(out)
        free(out_flags)
        return False
    for i in range(n):
        key = 0
        for k in range(8):
            key = (key << 8) | digests[32 * i + k]
        keys[i], order[i] = key, <unsigned int> i
    if not _radix_sort(keys, order, n):
        free(keys)
        free(order)
        free(out)
        free(out_flags)
        return False
    for i in range(n):
        memcpy(out + 32 * i, digests + 32 * order[i], 32)
        if flags != NULL:
            out_flags[i] = flags[order[i]]
    i = 0
    while i < n:
        run = i + 1
        while run < n and keys[run] == keys[i]:
            run += 1
        if run - i > 1 and not _all_equal(out + 32 * i, run - i):
            if flags == NULL:
                qsort(out + 32 * i, run - i, 32, _cmp_digest)
            else:  # our own HMACs of values: a run of distinct digests is a handful at most
                _insertion_sort(out + 32 * i, out_flags + i, run - i)
        i = run
    memcpy(digests, out, n * 32)
    if flags != NULL:
        memcpy(flags, out_flags, n)
    free(keys)
    free(order)
    free(out)
    free(out_flags)
    return True


cdef int _cmp_digest(const void *a, const void *b) noexcept nogil:
    return memcmp(a, b, 32)


cdef bint _all_equal(const unsigned char *digests, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(1, n):
        if memcmp(digests, digests + 32 * i, 32) != 0:
            return False
    return True


cdef void _insertion_sort(unsigned char *digests, unsigned char *flags, Py_ssize_t n) noexcept nogil:
    """Sorts a run of digests that share their first 8 bytes, and their flags with them. HMACs of
    distinct values agree in 64 bits about once in 2**64 pairs: such a run is one digest repeated (not
    sorted) or, by chance, a handful."""
    cdef unsigned char digest[32]
    cdef unsigned char flag
    cdef Py_ssize_t i, j
    for i in range(1, n):
        memcpy(digest, digests + 32 * i, 32)
        flag = flags[i]
        j = i
        while j > 0 and memcmp(digests + 32 * (j - 1), digest, 32) > 0:
            memcpy(digests + 32 * j, digests + 32 * (j - 1), 32)
            flags[j] = flags[j - 1]
            j -= 1
        memcpy(digests + 32 * j, digest, 32)
        flags[j] = flag


cdef class Database:
    """One Hyperscan block-mode database (UTF-8, leftmost start of match) and its scratch space."""

    cdef hs_database_t *db
    cdef hs_scratch_t *scratch
    cdef unsigned char *consumes
    cdef Reach *reaches
    cdef Py_ssize_t patterns

    def __cinit__(self):
        self.db, self.scratch, self.consumes, self.reaches = NULL, NULL, NULL, NULL

    def __dealloc__(self):
        if self.scratch != NULL:
            hs_free_scratch(self.scratch)
        if self.db != NULL:
            hs_free_database(self.db)
        free(self.consumes)
        free(self.reaches)

    @staticmethod
    def compile(list expressions, list flags):
        """A database of `expressions` (bytes) with `flags` (one per expression), pattern i reported
        as id i; ValueError names the expression Hyperscan refused (by index, never its text)."""
        cdef Database self = Database.__new__(Database)
        cdef Py_ssize_t n = len(expressions), i
        if len(flags) != n:
            raise ValueError("one set of flags per expression")
        cdef const char **exprs = <const char **> malloc(max(1, n) * sizeof(char *))
        cdef unsigned int *fl = <unsigned int *> malloc(max(1, n) * sizeof(unsigned int))
        cdef unsigned int *ids = <unsigned int *> malloc(max(1, n) * sizeof(unsigned int))
        cdef hs_compile_error_t *error = NULL
        cdef int rc
        try:
            if exprs == NULL or fl == NULL or ids == NULL:
                raise MemoryError()
            for i in range(n):
                exprs[i] = <const char *> (<bytes> expressions[i])
                fl[i], ids[i] = flags[i], i
            rc = hs_compile_multi(exprs, fl, ids, n, HS_MODE_BLOCK, NULL, &self.db, &error)
            if rc != HS_SUCCESS:
                where = error.expression if error != NULL else -1
                if error != NULL:
                    hs_free_compile_error(error)
                raise ValueError(f"hyperscan cannot compile pattern {where} (error {rc})")
        finally:
            free(exprs)
            free(fl)
            free(ids)
        self._ready(n)
        return self

    @staticmethod
    def load(bytes serialized, Py_ssize_t patterns):
        """A database from `serialize()`'s bytes (ValueError when they are not one)."""
        cdef Database self = Database.__new__(Database)
        if hs_deserialize_database(serialized, len(serialized), &self.db) != HS_SUCCESS:
            self.db = NULL
            raise ValueError("not a serialized hyperscan database of this library version")
        self._ready(patterns)
        return self

    cdef _ready(self, Py_ssize_t patterns):
        if hs_alloc_scratch(self.db, &self.scratch) != HS_SUCCESS:
            raise MemoryError()
        self.patterns = patterns
        self.consumes = <unsigned char *> malloc(max(1, patterns))
        self.reaches = <Reach *> malloc(max(1, patterns) * sizeof(Reach))
        if self.consumes == NULL or self.reaches == NULL:
            raise MemoryError()
        memset(self.consumes, 0, max(1, patterns))
        memset(self.reaches, 0, max(1, patterns) * sizeof(Reach))

    def serialize(self):
        cdef char *out = NULL
        cdef size_t length = 0
        if hs_serialize_database(self.db, &out, &length) != HS_SUCCESS:
            raise MemoryError()
        try:
            return PyBytes_FromStringAndSize(out, length)
        finally:
            free(out)

    def set_consumes(self, list consumes):
        """Per pattern: does a match begin with one boundary character that is not part of it?"""
        cdef Py_ssize_t i
        if len(consumes) != self.patterns:
            raise ValueError("one flag per pattern")
        for i in range(self.patterns):
            self.consumes[i] = 1 if consumes[i] else 0

    def set_reaches(self, list reaches):
        """Per pattern: None (its starts come from Hyperscan's SOM), or backends.StartReach's
        (shortest, longest, guard, first) for a pattern compiled without SOM."""
        cdef Py_ssize_t i
        if len(reaches) != self.patterns:
            raise ValueError("one reach per pattern")
        for i in range(self.patterns):
            _set_reach(&self.reaches[i], reaches[i])

    def candidates(self, bytes data, Py_ssize_t extra=-1):
        """(starts, pattern indices) of every match of the UTF-8 `data`, sorted, starts in characters:
        what backends.HyperscanScanner.candidates returns. With `extra` >= 0, patterns from index
        `extra` on are another reader's: (starts, ids, extra starts, extra ids counted from `extra`)."""
        cdef Hits h
        cdef int rc
        cdef Py_ssize_t n = len(data)
        cdef const unsigned char *buf = data
        if n > 0xFFFFFFFF:
            raise ValueError("a block of 4 GiB or more")
        h.items, h.n, h.cap, h.data, h.consumes, h.failed = NULL, 0, 0, buf, self.consumes, False
        h.reaches = self.reaches
        try:
            with nogil:
                rc = hs_scan(self.db, <const char *> buf, <unsigned int> n, 0, self.scratch, _on_match, &h)
            if h.failed:
                raise MemoryError()
            if rc != HS_SUCCESS:
                raise RuntimeError(f"hyperscan scan failed (error {rc})")
            if not _radix_sort(<unsigned long long *> h.items, NULL, h.n):  # starts and indices are >= 0
                raise MemoryError()
            return _candidate_lists(h.items, h.n, buf, extra)
        finally:
            free(h.items)


def sort_digests(bytes digests, bytes flags=None):
    """32-byte `digests` in ascending order (as bytes compare), as `DistinctValues.digests` sorts them;
    with `flags` (a byte per digest), (digests, flags) with each flag kept beside its digest."""
    if len(digests) % 32 or (flags is not None and len(flags) * 32 != len(digests)):
        raise ValueError("not a whole number of 32-byte digests, or not one flag per digest")
    cdef bytes out = PyBytes_FromStringAndSize(<const char *> digests, len(digests))
    cdef bytes out_flags = PyBytes_FromStringAndSize(<const char *> flags, len(flags)) if flags is not None else None
    cdef unsigned char *moved = <unsigned char *> PyBytes_AS_STRING(out_flags) if flags is not None else NULL
    if not _sort_digests(<unsigned char *> PyBytes_AS_STRING(out), len(digests) // 32, moved):
        raise MemoryError()
    return out if flags is None else (out, out_flags)


def count_distinct_digests(list parts):
    """How many distinct 32-byte digests the byte strings `parts` hold together (each a whole number
    of digests): sorted once, equal neighbours counted once."""
    cdef Py_ssize_t total = 0, n, i, distinct = 0
    cdef bytes part
    for part in parts:
        if len(part) % 32:
            raise ValueError("not a whole number of 32-byte digests")
        total += len(part)
    n = total // 32
    cdef unsigned char *buf = <unsigned char *> malloc(max(1, total))
    if buf == NULL:
        raise MemoryError()
    try:
        total = 0
        for part in parts:
            memcpy(buf + total, PyBytes_AS_STRING(part), len(part))
            total += len(part)
        with nogil:
            if not _sort_digests(buf, n):
                with gil:
                    raise MemoryError()
            for i in range(n):
                if i == 0 or memcmp(buf + i * 32, buf + (i - 1) * 32, 32) != 0:
                    distinct += 1
        return distinct
    finally:
        free(buf)


# ---- HMAC-SHA256 ---------------------------------------------------------------------------------

cdef extern from "Python.h":
    int PyUnicode_KIND(object u)
    void *PyUnicode_DATA(object u)
    Py_UCS4 PyUnicode_READ(int kind, void *data, Py_ssize_t index) nogil

cdef enum:
    _SHORT_UTF8 = 1024  # bytes: a str of up to a quarter of this many characters is encoded on the stack

cdef extern from "_sha256x2.h":
    int DLPSCAN_SHORT_MESSAGE
    int dlpscan_sha_ni() nogil
    void dlpscan_hmac_short_x2(const unsigned int *inner, const unsigned int *outer, const unsigned char *msg_a,
                               size_t n_a, const unsigned char *msg_b, size_t n_b, unsigned char *out_a,
                               unsigned char *out_b) nogil

cdef bint _pairs = dlpscan_sha_ni() == 1  # short values' HMACs two at a time (x86 SHA extensions)


def hmac_pairs(enabled=None):
    """Are short values' fingerprints computed two at a time with the x86 SHA extensions? `enabled`
    (tests): False uses OpenSSL for every value, True the pairs where the CPU has the extensions."""
    global _pairs
    if enabled is not None:
        _pairs = bool(enabled) and dlpscan_sha_ni() == 1
    return _pairs


cdef Py_ssize_t _utf8_into(str value, char *buf) noexcept:
    """value.encode("utf-8") written to `buf` (room for _SHORT_UTF8 bytes); -1 when the str is longer
    than _SHORT_UTF8 // 4 characters or holds a surrogate (str.encode raises on those)."""
    cdef Py_ssize_t n = len(value), i, k = 0
    cdef int kind = PyUnicode_KIND(value)
    cdef void *data = PyUnicode_DATA(value)
    cdef unsigned int c  # not Py_UCS4: Cython treats that as a character, and shifts it in Python
    if n > _SHORT_UTF8 // 4:
        return -1
    for i in range(n):
        c = <unsigned int> PyUnicode_READ(kind, data, i)
        if 0xD800 <= c <= 0xDFFF:
            return -1
        k += _put_utf8(c, <unsigned char *> buf + k)
    return k


cdef class Fingerprints:
    """HMAC-SHA256 under one key (RFC 2104) with the inner and outer pads hashed once."""

    cdef SHA256_CTX inner, outer

    def __init__(self, bytes key):
        cdef unsigned char block[64]
        cdef unsigned char digest[32]
        cdef unsigned char pad[64]
        cdef SHA256_CTX c
        cdef Py_ssize_t i, n = len(key)
        for i in range(64):
            block[i] = 0
        if n > 64:
            SHA256_Init(&c)
            SHA256_Update(&c, <const char *> key, n)
            SHA256_Final(digest, &c)
            memcpy(block, digest, 32)
        else:
            memcpy(block, <const char *> key, n)
        for i in range(64):
            pad[i] = block[i] ^ 0x36
        SHA256_Init(&self.inner)
        SHA256_Update(&self.inner, pad, 64)
        for i in range(64):
            pad[i] = block[i] ^ 0x5C
        SHA256_Init(&self.outer)
        SHA256_Update(&self.outer, pad, 64)

    def truncated(self, bytes prefix, values, Py_ssize_t width):
        """HMAC(key, prefix + value)[:width] of each value (a str, UTF-8 encoded, or bytes), joined."""
        cdef list seq = list(values)
        cdef Py_ssize_t n = len(seq), i
        cdef SHA256_CTX start = self._prefixed(prefix, width)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n * width)
        cdef unsigned char *buf = <unsigned char *> PyBytes_AS_STRING(out)
        for i in range(n):
            self._finish_value(&start, seq[i], buf + i * width, width)
        return out

    def truncated_chunks(self, bytes prefix, bytes data, Py_ssize_t chunk, Py_ssize_t width):
        """`truncated` of each `chunk` bytes of `data` (whose length is a multiple of `chunk`)."""
        cdef Py_ssize_t n, i
        if chunk <= 0 or len(data) % chunk:
            raise ValueError("the data is not a whole number of chunks")
        n = len(data) // chunk
        cdef SHA256_CTX start = self._prefixed(prefix, width)
        cdef const char *src = data
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n * width)
        cdef unsigned char *buf = <unsigned char *> PyBytes_AS_STRING(out)
        with nogil:
            for i in range(n):
                self._finish(&start, src + i * chunk, chunk, buf + i * width, width)
        return out

    cdef SHA256_CTX _prefixed(self, bytes prefix, Py_ssize_t width) except *:
        cdef SHA256_CTX c = self.inner
        if not 0 < width <= 32:
            raise ValueError("a digest is 1 to 32 bytes")
        SHA256_Update(&c, <const char *> prefix, len(prefix))
        return c

    cdef int _finish_value(self, const SHA256_CTX *start, object value, unsigned char *out,
                           Py_ssize_t width) except -1:
        """`_finish` of a str's UTF-8 (an ASCII str's own bytes; a short one written into a buffer on
        the stack, not cached on the str; others encoded) or of bytes."""
        cdef Py_ssize_t size
        cdef const char *data
        cdef bytes encoded
        cdef char utf8[_SHORT_UTF8]
        if isinstance(value, str):
            if (<str> value).isascii():
                data = PyUnicode_AsUTF8AndSize(value, &size)
                self._finish(start, data, size, out, width)
                return 0
            size = _utf8_into(value, utf8)
            if size >= 0:
                self._finish(start, utf8, size, out, width)
                return 0
            encoded = (<str> value).encode("utf-8")  # long, or a lone surrogate (which raises)
        else:
            encoded = value
        self._finish(start, encoded, len(encoded), out, width)
        return 0

    cdef void _finish(self, const SHA256_CTX *start, const char *data, Py_ssize_t size, unsigned char *out,
                      Py_ssize_t width) noexcept nogil:
        cdef unsigned char inner_digest[32]
        cdef unsigned char digest[32]
        cdef SHA256_CTX c = start[0]
        SHA256_Update(&c, data, size)
        SHA256_Final(inner_digest, &c)
        c = self.outer
        SHA256_Update(&c, inner_digest, 32)
        SHA256_Final(digest, &c)
        memcpy(out, digest, width)


# ---- distinct values as digests ------------------------------------------------------------------

cdef enum:
    _COMPACT_FROM = 1 << 18  # digests (8 MB): a smaller buffer grows without sorting


cdef class _Digests:
    """32-byte digests appended in any number, each with a flag byte, counted once each (their flags
    ORed). A full buffer of 8 MB or more is sorted and de-duplicated in place, and doubles only when
    more than half of it stays distinct: memory follows the distinct digests, and each is sorted a
    bounded number of times on average."""

    cdef unsigned char *buf
    cdef unsigned char *flags
    cdef Py_ssize_t n, cap
    cdef bint tidy  # the n digests are sorted and distinct

    def __cinit__(self):
        self.buf, self.flags, self.n, self.cap, self.tidy = NULL, NULL, 0, 0, True

    def __dealloc__(self):
        free(self.buf)
        free(self.flags)

    cdef int push(self, const unsigned char *digest, unsigned char flag) except -1:
        cdef unsigned char *grown
        cdef Py_ssize_t cap
        if self.n == self.cap:
            if self.n >= _COMPACT_FROM:
                self.compact()
            if self.n * 2 > self.cap or self.cap == 0:
                cap = max(256, 2 * self.cap)
                grown = <unsigned char *> realloc(self.buf, cap * 32)
                if grown == NULL:
                    raise MemoryError()
                self.buf = grown
                grown = <unsigned char *> realloc(self.flags, cap)
                if grown == NULL:
                    raise MemoryError()
                self.flags, self.cap = grown, cap
        memcpy(self.buf + 32 * self.n, digest, 32)
        self.flags[self.n] = flag
        self.n += 1
        self.tidy = False
        return 0

    cdef int compact(self) except -1:
        cdef Py_ssize_t i, kept = 0
        if self.tidy:
            return 0
        if not _sort_digests(self.buf, self.n, self.flags):
            raise MemoryError()
        for i in range(self.n):
            if kept and memcmp(self.buf + 32 * i, self.buf + 32 * (kept - 1), 32) == 0:
                self.flags[kept - 1] |= self.flags[i]
                continue
            if kept != i:
                memcpy(self.buf + 32 * kept, self.buf + 32 * i, 32)
                self.flags[kept] = self.flags[i]
            kept += 1
        self.n, self.tidy = kept, True
        return 0

    cdef Py_ssize_t flagged(self, unsigned char bit) except -1:
        """How many distinct digests have `bit` in their flags."""
        cdef Py_ssize_t i, count = 0
        self.compact()
        for i in range(self.n):
            count += (self.flags[i] & bit) != 0
        return count


cdef class DistinctValues:
    """One type's values in a document kept as their HMAC-SHA256 fingerprints, never as values: how
    many are distinct, how many of those a finding confirmed (flag bit 1) or marked (bit 2), and the
    distinct fingerprints, sorted. aggregate.DistinctValues is the same in Python (hashlib)."""

    cdef Fingerprints fp
    cdef _Digests values

    def __init__(self, Fingerprints fp):
        self.fp = fp
        self.values = _Digests()

    def add(self, list values, flags):
        """Each of `values` (str) with its byte of `flags`. Values of up to DLPSCAN_SHORT_MESSAGE bytes
        of UTF-8 are hashed two at a time where the CPU allows (`hmac_pairs`): the same digests."""
        cdef const unsigned char[:] bits = flags
        cdef Py_ssize_t i, size, waiting = -1, waiting_size = 0
        cdef unsigned char digest[32]
        cdef unsigned char other[32]
        cdef char utf8[2][_SHORT_UTF8]
        cdef const unsigned char *message[2]  # an ASCII str's own characters, or its slot of utf8
        cdef int slot = 0
        cdef str value
        if len(bits) != len(values):
            raise ValueError("one flag byte per value")
        for i in range(len(values)):
            value = values[i]  # `values` holds it: its characters stay where they are until hashed
            if not _pairs:
                size = -1
            elif value.isascii():
                size = len(value)
                message[slot] = <const unsigned char *> PyUnicode_DATA(value)
            else:
                size = _utf8_into(value, utf8[slot])
                message[slot] = <const unsigned char *> utf8[slot]
            if not 0 <= size <= DLPSCAN_SHORT_MESSAGE:
                self.fp._finish_value(&self.fp.inner, value, digest, 32)
                self.values.push(digest, bits[i])
            elif waiting < 0:
                waiting, waiting_size, slot = i, size, 1 - slot
            else:
                dlpscan_hmac_short_x2(self.fp.inner.h, self.fp.outer.h, message[1 - slot], waiting_size,
                                      message[slot], size, digest, other)
                self.values.push(digest, bits[waiting])
                self.values.push(other, bits[i])
                waiting = -1
        if waiting >= 0:  # the last short value, alone: hashed beside itself
            slot = 1 - slot
            dlpscan_hmac_short_x2(self.fp.inner.h, self.fp.outer.h, message[slot], waiting_size,
                                  message[slot], waiting_size, digest, other)
            self.values.push(digest, bits[waiting])

    def counts(self):
        """(distinct, confirmed, marked) values."""
        self.values.compact()
        return self.values.n, self.values.flagged(1), self.values.flagged(2)

    def digests(self):
        """The distinct fingerprints, sorted and concatenated (32 bytes each)."""
        self.values.compact()
        return PyBytes_FromStringAndSize(<const char *> self.values.buf, 32 * self.values.n)
