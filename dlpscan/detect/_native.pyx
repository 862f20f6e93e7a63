# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""C libraries called directly, without a Python frame per match or per value: Hyperscan's C API
(libhs) collects the candidate starts of a block into a C array, OpenSSL's SHA-256 computes keyed
fingerprints from precomputed HMAC pads.

Optional like `_core`: built when libhyperscan-dev and libssl-dev are installed (hatch_build.py).
Without it dlpscan uses the `hyperscan` binding with a callback per match and `hashlib`; both give
the same candidates and digests (tests/test_native.py).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcmp, memcpy



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
        pass
    int SHA256_Init(SHA256_CTX *c) nogil
    int SHA256_Update(SHA256_CTX *c, const void *data, size_t n) nogil
    int SHA256_Final(unsigned char *md, SHA256_CTX *c) nogil


def library_version():
    """libhs's version string (part of the compiled-database cache key)."""
    return (<bytes> hs_version()).decode("ascii", "replace")


# ---- Hyperscan -----------------------------------------------------------------------------------

cdef struct Hits:
    long long *items  # (byte start << 20) | pattern index
    Py_ssize_t n, cap
    const unsigned char *data
    const unsigned char *consumes
    bint failed


cdef int _on_match(unsigned int pattern_id, unsigned long long start, unsigned long long end,
                   unsigned int flags, void *context) noexcept nogil:
    cdef Hits *h = <Hits *> context
    cdef unsigned char lead
    if h.consumes[pattern_id]:  # the match may begin with the boundary character: skip it
        if start == 0 and not _push(h, pattern_id):
            return 1
        lead = h.data[start]
        start += 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return 0 if _push(h, (<long long> start << 20) | pattern_id) else 1


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


cdef int _cmp_ll(const void *a, const void *b) noexcept nogil:
    cdef long long x = (<const long long *> a)[0], y = (<const long long *> b)[0]
    return (x > y) - (x < y)


cdef class Database:
    """One Hyperscan block-mode database (UTF-8, leftmost start of match) and its scratch space."""

    cdef hs_database_t *db
    cdef hs_scratch_t *scratch
    cdef unsigned char *consumes
    cdef Py_ssize_t patterns

    def __cinit__(self):
        self.db, self.scratch, self.consumes = NULL, NULL, NULL

    def __dealloc__(self):
        if self.scratch != NULL:
            hs_free_scratch(self.scratch)
        if self.db != NULL:
            hs_free_database(self.db)
        free(self.consumes)

    @staticmethod
    def compile(list expressions, unsigned int flags):
        """A database of `expressions` (bytes), pattern i reported as id i; ValueError names the
        expression Hyperscan refused (by index, never its text)."""
        cdef Database self = Database.__new__(Database)
        cdef Py_ssize_t n = len(expressions), i
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
                fl[i], ids[i] = flags, i
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
        if self.consumes == NULL:
            raise MemoryError()
        for i in range(patterns):
            self.consumes[i] = 0

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

    def candidates(self, bytes data):
        """(starts, pattern indices) of every match of the UTF-8 `data`, sorted, starts in characters:
        what backends.HyperscanScanner.candidates returns."""
        cdef Hits h
        cdef int rc
        cdef Py_ssize_t i, b = 0, chars = 0, target, n = len(data)
        cdef const unsigned char *buf = data
        cdef list starts = [], ids = []
        if n > 0xFFFFFFFF:
            raise ValueError("a block of 4 GiB or more")
        h.items, h.n, h.cap, h.data, h.consumes, h.failed = NULL, 0, 0, buf, self.consumes, False
        try:
            with nogil:
                rc = hs_scan(self.db, <const char *> buf, <unsigned int> n, 0, self.scratch, _on_match, &h)
            if h.failed:
                raise MemoryError()
            if rc != HS_SUCCESS:
                raise RuntimeError(f"hyperscan scan failed (error {rc})")
            qsort(h.items, h.n, sizeof(long long), _cmp_ll)
            for i in range(h.n):
                target = h.items[i] >> 20
                while b < target:
                    if (buf[b] & 0xC0) != 0x80:
                        chars += 1
                    b += 1
                starts.append(chars)
                ids.append(h.items[i] & 0xFFFFF)
        finally:
            free(h.items)
        return starts, ids


# ---- HMAC-SHA256 ---------------------------------------------------------------------------------

cdef int _cmp_digest(const void *a, const void *b) noexcept nogil:
    return memcmp(a, b, 32)


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

    def sorted_digests(self, values):
        """The digests of the (UTF-8 encoded) `values`, sorted and concatenated (32 bytes each)."""
        cdef list seq = list(values)
        cdef Py_ssize_t n = len(seq), i, size
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n * 32)
        cdef unsigned char *digests = <unsigned char *> PyBytes_AS_STRING(out)
        cdef unsigned char inner_digest[32]
        cdef const char *utf8
        cdef SHA256_CTX c
        cdef str value
        cdef bytes encoded
        for i in range(n):
            value = seq[i]
            if value.isascii():  # its own bytes; others are encoded for the moment (not cached on the str)
                utf8 = PyUnicode_AsUTF8AndSize(value, &size)
            else:
                encoded = value.encode("utf-8")
                utf8, size = encoded, len(encoded)
            c = self.inner
            SHA256_Update(&c, utf8, size)
            SHA256_Final(inner_digest, &c)
            c = self.outer
            SHA256_Update(&c, inner_digest, 32)
            SHA256_Final(digests + 32 * i, &c)
        qsort(digests, n, 32, _cmp_digest)
        return out

    def truncated(self, bytes prefix, values, Py_ssize_t width):
        """HMAC(key, prefix + value)[:width] of each value (a str, UTF-8 encoded, or bytes), joined."""
        cdef list seq = list(values)
        cdef Py_ssize_t n = len(seq), i, size
        cdef const char *data
        cdef bytes encoded
        cdef object value
        cdef SHA256_CTX start = self._prefixed(prefix, width)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n * width)
        cdef unsigned char *buf = <unsigned char *> PyBytes_AS_STRING(out)
        for i in range(n):
            value = seq[i]
            if isinstance(value, str):
                if (<str> value).isascii():
                    data = PyUnicode_AsUTF8AndSize(value, &size)
                else:
                    encoded = (<str> value).encode("utf-8")
                    data, size = encoded, len(encoded)
            else:
                encoded = value
                data, size = encoded, len(encoded)
            self._finish(&start, data, size, buf + i * width, width)
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
