# Included by _core.pyx (fold_utf8: the folded text's UTF-8 for Hyperscan) and _native.pyx (a short
# value's UTF-8 for its fingerprint): one character's encoding, one definition for both. Part of both
# modules' source digests.

cdef inline Py_ssize_t _put_utf8(unsigned int c, unsigned char *out) noexcept nogil:
    """Code point `c` as UTF-8 at `out` (a surrogate as three bytes, as "surrogatepass" writes it);
    returns the bytes written. The three-byte test first: CJK text's most characters."""
    if c >= 0x800:
        if c >= 0x10000:
            out[0] = <unsigned char> (0xF0 | (c >> 18))
            out[1] = <unsigned char> (0x80 | ((c >> 12) & 0x3F))
            out[2] = <unsigned char> (0x80 | ((c >> 6) & 0x3F))
            out[3] = <unsigned char> (0x80 | (c & 0x3F))
            return 4
        out[0] = <unsigned char> (0xE0 | (c >> 12))
        out[1] = <unsigned char> (0x80 | ((c >> 6) & 0x3F))
        out[2] = <unsigned char> (0x80 | (c & 0x3F))
        return 3
    if c < 0x80:
        out[0] = <unsigned char> c
        return 1
    out[0] = <unsigned char> (0xC0 | (c >> 6))
    out[1] = <unsigned char> (0x80 | (c & 0x3F))
    return 2
