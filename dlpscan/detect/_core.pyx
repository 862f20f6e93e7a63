# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The engine's candidate loop compiled: confirm, normalise, validate, read labels, score, resolve
overlaps and number lines without a Python frame per candidate.

It is a second implementation of `Engine._pattern_findings` + `scoring.evaluate` +
`evidence.with_line_numbers`, which stay the reference: tests/test_differential.py runs both over
generated text and tables and requires identical findings. Whatever is rare or user-defined (other
normalisers, validators, masked values, windows holding cased non-ASCII letters) calls the same
Python functions the reference uses. A candidate is confirmed by `Matcher`, a backtracking matcher
over the pattern's program (matchprog.py) that ends where `re.match` ends (tests/test_matchprog.py);
a pattern outside its subset, or one whose value group's span is needed, is confirmed by `re`.
"""

cimport cython
from cpython cimport array
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF
from cpython.unicode cimport PyUnicode_FromKindAndData, PyUnicode_4BYTE_KIND
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memcpy, memset
from libc.time cimport time, time_t

import array as _array
import dataclasses
import functools
import gc
import types

from dlpscan.detect import matchprog, tables, text as _text, validators
from dlpscan.detect.evidence import _LEADING_TOKEN, MASKED_CELL_MAX
from dlpscan.detect.layout import CELL_SEP as _CELL_SEP
from dlpscan.detect.layout import TableLayout
from dlpscan.detect.scoring import CONTEXT_REACH as _CONTEXT_REACH
from dlpscan.detect.scoring import DAMAGE_CHECKS, Finding, _hidden, label_evidence


cdef extern from *:
    const char *DLPSCAN_SOURCE_DIGEST  # SHA-256 of this file, set by hatch_build.py

SOURCE_DIGEST = DLPSCAN_SOURCE_DIGEST.decode("ascii")


# ---- findings without a Python frame -------------------------------------------------------------
# scoring.Finding is a dataclass with __slots__: each field is an object slot at a fixed offset, which
# its member descriptor names. Findings are made and read here through those offsets (a Python
# __init__ call and a descriptor lookup per field cost about 1 us per finding). Should Finding change
# shape (other fields, a __post_init__, no slots), _SLOTS is false and the attribute paths run.

cdef extern from *:
    """
    #include "structmember.h"
    #ifndef Py_T_OBJECT_EX
    #define Py_T_OBJECT_EX T_OBJECT_EX
    #define Py_READONLY READONLY
    #endif
    static Py_ssize_t dlpscan_object_slot(PyObject *descr) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        return (m->type == Py_T_OBJECT_EX && !(m->flags & Py_READONLY)) ? m->offset : -1;
    }
    static CYTHON_INLINE PyObject *dlpscan_slot(PyObject *o, Py_ssize_t offset) {
        return *(PyObject **)((char *)o + offset);
    }
    static CYTHON_INLINE void dlpscan_set_slot(PyObject *o, Py_ssize_t offset, PyObject *v) {
        PyObject **p = (PyObject **)((char *)o + offset);
        PyObject *old = *p;
        Py_INCREF(v);
        *p = v;
        Py_XDECREF(old);
    }
    /* The score and the record of the finding made last, kept: findings of one row share its record,
       and most share one of a few scores, so their numbers are shared (both immutable) instead of
       made and freed per finding. Each is kept under its 64 bits. Called with the GIL held. */
    typedef struct { unsigned long long bits; PyObject *obj; } dlpscan_kept;
    static dlpscan_kept dlpscan_last_score = {0, NULL}, dlpscan_last_record = {0, NULL};
    /* `made` (a new reference, or NULL on error) kept under `bits`; a new reference to it. */
    static PyObject *dlpscan_keep(dlpscan_kept *k, unsigned long long bits, PyObject *made) {
        if (made == NULL)
            return NULL;
        Py_XSETREF(k->obj, made);
        k->bits = bits;
        return Py_NewRef(made);
    }
    static PyObject *dlpscan_score_obj(double score) {
        unsigned long long bits;
        memcpy(&bits, &score, sizeof bits);
        if (dlpscan_last_score.obj != NULL && bits == dlpscan_last_score.bits)
            return Py_NewRef(dlpscan_last_score.obj);
        return dlpscan_keep(&dlpscan_last_score, bits, PyFloat_FromDouble(score));
    }
    static PyObject *dlpscan_record_obj(Py_ssize_t record) {
        unsigned long long bits = (unsigned long long) record;
        if (dlpscan_last_record.obj != NULL && bits == dlpscan_last_record.bits)
            return Py_NewRef(dlpscan_last_record.obj);
        return dlpscan_keep(&dlpscan_last_record, bits, PyLong_FromSsize_t(record));
    }
    /* A Finding made in one go: its slots are empty when allocated, so each is filled without reading
       an old value, and the numbers made here are stored, not stored and then released. */
    static PyObject *dlpscan_new_finding(PyObject *type, const Py_ssize_t *at, PyObject *entity, PyObject *value,
                                         Py_ssize_t start, Py_ssize_t end, double score, int masked, int damaged,
                                         PyObject *hidden, Py_ssize_t record, PyObject *column, int confirmed) {
        PyObject *f = ((PyTypeObject *)type)->tp_alloc((PyTypeObject *)type, 0);
        PyObject *numbers[4];
        int i;
        if (f == NULL)
            return NULL;
        numbers[0] = PyLong_FromSsize_t(start);
        numbers[1] = PyLong_FromSsize_t(end);
        numbers[2] = dlpscan_score_obj(score);
        numbers[3] = dlpscan_record_obj(record);
        if (!numbers[0] || !numbers[1] || !numbers[2] || !numbers[3]) {
            for (i = 0; i < 4; i++)
                Py_XDECREF(numbers[i]);
            Py_DECREF(f);
            return NULL;
        }
    #define DLPSCAN_SLOT(k) (*(PyObject **)((char *)f + at[k]))
        Py_INCREF(entity), DLPSCAN_SLOT(0) = entity;
        Py_INCREF(value), DLPSCAN_SLOT(1) = value;
        DLPSCAN_SLOT(2) = numbers[0];
        DLPSCAN_SLOT(3) = numbers[1];
        DLPSCAN_SLOT(4) = numbers[2];
        DLPSCAN_SLOT(5) = masked ? Py_NewRef(Py_True) : Py_NewRef(Py_False);
        DLPSCAN_SLOT(6) = damaged ? Py_NewRef(Py_True) : Py_NewRef(Py_False);
        Py_INCREF(hidden), DLPSCAN_SLOT(7) = hidden;
        DLPSCAN_SLOT(8) = numbers[3];
        Py_INCREF(column), DLPSCAN_SLOT(9) = column;
        DLPSCAN_SLOT(10) = confirmed ? Py_NewRef(Py_True) : Py_NewRef(Py_False);
    #undef DLPSCAN_SLOT
        /* Its fields are strings, numbers, booleans and None: a finding can be in no reference cycle,
           so the cyclic collector need not walk it (CPython untracks such tuples too). Dense text makes
           tens of thousands per block, which each collection after the block walked again. */
        PyObject_GC_UnTrack(f);
        return f;
    }
    """
    Py_ssize_t dlpscan_object_slot(object descr) except? -2
    PyObject *dlpscan_slot(object o, Py_ssize_t offset)
    void dlpscan_set_slot(object o, Py_ssize_t offset, object v)
    object dlpscan_new_finding(object type, const Py_ssize_t *at, object entity, object value, Py_ssize_t start,
                               Py_ssize_t end, double score, int masked, int damaged, object hidden,
                               Py_ssize_t record, object column, int confirmed)

cdef enum:  # Finding's fields, in _FIELDS order
    F_ENTITY_TYPE = 0
    F_VALUE = 1
    F_START = 2
    F_END = 3
    F_SCORE = 4
    F_MASKED = 5
    F_DAMAGED = 6
    F_HIDDEN_DIGITS = 7
    F_RECORD = 8
    F_COLUMN = 9
    F_CONFIRMED = 10

_FIELDS = ("entity_type", "value", "start", "end", "score", "masked", "damaged", "hidden_digits", "record",
           "column", "confirmed")
cdef Py_ssize_t _OFFSET[11]
cdef object _FINDING = Finding
cdef array.array _Q = _array.array("q")  # the template of the layout arrays


cdef bint _finding_slots() except -1:
    """Read Finding's slot offsets; False when it is not the plain slotted dataclass of _FIELDS."""
    cdef Py_ssize_t i
    if tuple(f.name for f in dataclasses.fields(Finding)) != _FIELDS or hasattr(Finding, "__post_init__"):
        return False
    for i in range(len(_FIELDS)):
        descr = Finding.__dict__.get(_FIELDS[i])
        if type(descr) is not types.MemberDescriptorType:
            return False
        _OFFSET[i] = dlpscan_object_slot(descr)
        if _OFFSET[i] < 0:
            return False
    return True


cdef bint _SLOTS = _finding_slots()


cdef object _finding(str entity, str value, Py_ssize_t start, Py_ssize_t end, double score, bint masked,
                     bint damaged, object hidden, Py_ssize_t record, object column, bint confirmed):
    """Finding(entity, value, start, end, score, masked, damaged, hidden, record, column, confirmed)."""
    if not _SLOTS:
        return Finding(entity, value, start, end, score, masked, damaged, hidden, record, column, confirmed)
    return dlpscan_new_finding(_FINDING, _OFFSET, entity, value, start, end, score, masked, damaged, hidden,
                               record, column, confirmed)


cdef inline object _get(object f, int field):
    """getattr(f, _FIELDS[field]), from the slot when f is a Finding whose slot is set."""
    cdef PyObject *v
    if _SLOTS and type(f) is _FINDING:
        v = dlpscan_slot(f, _OFFSET[field])
        if v != NULL:
            return <object> v
    return getattr(f, _FIELDS[field])


cdef inline void _set(object f, int field, object value) except *:
    if _SLOTS and type(f) is _FINDING:
        dlpscan_set_slot(f, _OFFSET[field], value)
    else:
        setattr(f, _FIELDS[field], value)


def finding(str entity, str value, Py_ssize_t start, Py_ssize_t end, double score, bint masked, bint damaged,
            object hidden, Py_ssize_t record, object column, bint confirmed):
    """_finding for tests: the slot-built Finding equals the dataclass-built one."""
    return _finding(entity, value, start, end, score, masked, damaged, hidden, record, column, confirmed)


def finding_slots():
    """Are findings made and read through their slots (tests)?"""
    return _SLOTS

cdef enum Validator:
    V_PYTHON = 0
    V_BANK_CARD = 1
    V_MOBILE = 2
    V_RESIDENT_ID = 3
    V_USCC = 4
    V_ADDRESS = 5
    V_NAME = 6

cdef enum Normaliser:
    N_PYTHON = 0
    N_DIGITS = 1
    N_UPPER_ALNUM = 2
    N_MOBILE = 3
    N_NO_SPACE = 4
    N_NAME = 5  # text.name: whitespace (re's \\s is Py_UNICODE_ISSPACE) and ';' dropped

_NORMALISERS = {
    "digits": N_DIGITS, "upper_alnum": N_UPPER_ALNUM, "mobile": N_MOBILE, "no_space": N_NO_SPACE, "name": N_NAME,
}


cdef inline unsigned int _slot(Py_UCS4 c) noexcept:
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


ctypedef fused _Char:  # a str's characters, typed by its kind (1, 2 or 4 bytes)
    unsigned char
    unsigned short
    Py_UCS4


# ---- confirming a candidate without `re` (matchprog.py builds the program) -----------------------

cdef enum:  # matchprog's node kinds
    M_SET = 0
    M_REPEAT = 1
    M_BRANCH = 2
    M_GROUP_REPEAT = 3
    M_AHEAD = 4
    M_NOT_AHEAD = 5
    M_BEHIND = 6
    M_NOT_BEHIND = 7

cdef struct _MNode:
    int op, next, cset, lo, hi, body, first_alt, n_alts, width

cdef struct _MSet:
    unsigned long long low, high  # ASCII membership, 0-63 and 64-127, negation applied
    int *ranges  # inclusive (lo, hi) pairs
    int n_ranges, categories
    bint negate
    int common_han  # every character of _COMMON_HAN: 0 read one by one, 1 outside the set, 2 in it
    unsigned int single  # the set is this one character beyond ASCII (a literal such as 北), else 0

cdef enum:  # matchprog's category flags
    C_DIGIT = 1
    C_NOT_DIGIT = 2
    C_SPACE = 4
    C_NOT_SPACE = 8
    C_WORD = 16
    C_NOT_WORD = 32

if ((matchprog.SET, matchprog.REPEAT, matchprog.BRANCH, matchprog.GROUP_REPEAT, matchprog.AHEAD,
     matchprog.NOT_AHEAD, matchprog.BEHIND, matchprog.NOT_BEHIND) != tuple(range(8))
        or (matchprog.DIGIT, matchprog.NOT_DIGIT, matchprog.SPACE, matchprog.NOT_SPACE, matchprog.WORD,
            matchprog.NOT_WORD) != (C_DIGIT, C_NOT_DIGIT, C_SPACE, C_NOT_SPACE, C_WORD, C_NOT_WORD)):
    raise ImportError("matchprog's op codes or category flags differ from the matcher's")

cdef struct _MCont:  # where a repeated group's body returns: one more repetition, or on
    int node, count
    _MCont *up


cdef enum:  # the common Han characters (GB2312's and most of Chinese text) as one block
    _COMMON_HAN_FIRST = 0x4E00
    _COMMON_HAN_LAST = 0x9FA5


cdef bint _han_block_is_plain() noexcept:
    """Do the categories read every common Han character alike (not a digit, not a space, a word
    character)? Then a set's answer for one of them is its answer for all (`_common_han`)."""
    cdef Py_UCS4 c
    for c in range(_COMMON_HAN_FIRST, _COMMON_HAN_LAST + 1):
        if Py_UNICODE_ISDECIMAL(c) or Py_UNICODE_ISSPACE(c) or not Py_UNICODE_ISALNUM(c):
            return False
    return True


cdef bint _HAN_BLOCK_PLAIN = _han_block_is_plain()


cdef int _common_han(const _MSet *s) noexcept:
    """_MSet.common_han for `s`: 2 or 1 when no range of the set starts or ends inside the block
    (and the categories read it alike), 0 otherwise."""
    cdef int i, lo, hi
    if not _HAN_BLOCK_PLAIN:
        return 0
    for i in range(s.n_ranges):
        lo, hi = s.ranges[2 * i], s.ranges[2 * i + 1]
        if hi >= _COMMON_HAN_FIRST and lo <= _COMMON_HAN_LAST and not (
            lo <= _COMMON_HAN_FIRST and hi >= _COMMON_HAN_LAST
        ):
            return 0
    return 2 if _in_set(s, _COMMON_HAN_FIRST) else 1


def _single(charset):
    """The one character beyond ASCII that `charset` (a matchprog.CharSet) holds, or 0."""
    if charset.negate or charset.categories or len(charset.ranges) != 1:
        return 0
    lo, hi = charset.ranges[0]
    return lo if lo == hi and lo >= 128 else 0


cdef inline bint _in_set(const _MSet *s, Py_UCS4 c) noexcept:
    cdef unsigned int u = <unsigned int> c
    if u < 64:
        return (s.low >> u) & 1
    if u < 128:
        return (s.high >> (u - 64)) & 1
    if s.single:  # a literal: the first characters of a province's alternatives, tried in turn
        return u == s.single
    if s.common_han and _COMMON_HAN_FIRST <= u <= _COMMON_HAN_LAST:  # an address's or a name's run
        return s.common_han == 2
    return _in_set_ranges(s, u)


cdef bint _in_set_ranges(const _MSet *s, unsigned int u) noexcept:
    """_in_set beyond ASCII and the common Han block: the ranges, then the categories."""
    cdef int i
    cdef bint hit = False, word
    cdef Py_UCS4 c = <Py_UCS4> u
    for i in range(s.n_ranges):
        if <unsigned int> s.ranges[2 * i] <= u <= <unsigned int> s.ranges[2 * i + 1]:
            hit = True
            break
    if not hit and s.categories:
        hit = ((s.categories & C_DIGIT and Py_UNICODE_ISDECIMAL(c))
               or (s.categories & C_NOT_DIGIT and not Py_UNICODE_ISDECIMAL(c))
               or (s.categories & C_SPACE and Py_UNICODE_ISSPACE(c))
               or (s.categories & C_NOT_SPACE and not Py_UNICODE_ISSPACE(c)))
        if not hit and s.categories & (C_WORD | C_NOT_WORD):  # only then: four table lookups
            word = Py_UNICODE_ISALNUM(c)  # '_' is ASCII
            hit = (s.categories & C_WORD and word) or (s.categories & C_NOT_WORD and not word)
    return hit != s.negate


@cython.final
cdef class Matcher:
    """matchprog.Program in C arrays: `end(text, pos)` is re.match(text, pos).end(), or -1."""

    cdef _MNode *nodes
    cdef _MSet *sets
    cdef int *alts
    cdef int *ranges
    cdef int start

    def __cinit__(self, program):
        cdef int i, k = 0, r = 0
        self.nodes, self.sets, self.alts, self.ranges = NULL, NULL, NULL, NULL
        n_alts = sum(len(x.alts) for x in program.nodes)
        n_ranges = sum(len(c.ranges) for c in program.sets)
        self.nodes = <_MNode *> malloc(max(1, len(program.nodes)) * sizeof(_MNode))
        self.sets = <_MSet *> malloc(max(1, len(program.sets)) * sizeof(_MSet))
        self.alts = <int *> malloc(max(1, n_alts) * sizeof(int))
        self.ranges = <int *> malloc(max(1, 2 * n_ranges) * sizeof(int))
        if self.nodes == NULL or self.sets == NULL or self.alts == NULL or self.ranges == NULL:
            raise MemoryError()
        for i, x in enumerate(program.nodes):
            self.nodes[i] = _MNode(op=x.op, next=x.next, cset=x.cset, lo=x.lo, hi=x.hi, body=x.body,
                                   first_alt=k, n_alts=len(x.alts), width=x.width)
            for a in x.alts:
                self.alts[k] = a
                k += 1
        for i, c in enumerate(program.sets):
            self.sets[i] = _MSet(low=c.ascii & 0xFFFFFFFFFFFFFFFF, high=c.ascii >> 64, ranges=&self.ranges[2 * r],
                                 n_ranges=len(c.ranges), categories=c.categories, negate=c.negate, common_han=0,
                                 single=_single(c))
            for lo, hi in c.ranges:
                self.ranges[2 * r], self.ranges[2 * r + 1] = lo, hi
                r += 1
            self.sets[i].common_han = _common_han(&self.sets[i])
        self.start = program.start

    def __dealloc__(self):
        free(self.nodes)
        free(self.sets)
        free(self.alts)
        free(self.ranges)

    cdef Py_ssize_t end(self, str text, Py_ssize_t pos) noexcept:
        cdef int kind = PyUnicode_KIND(text)
        cdef void *data = PyUnicode_DATA(text)
        if kind == 1:
            return _m_run(self, <const unsigned char *> data, len(text), self.start, pos, NULL)
        if kind == 2:
            return _m_run(self, <const unsigned short *> data, len(text), self.start, pos, NULL)
        return _m_run(self, <const Py_UCS4 *> data, len(text), self.start, pos, NULL)

    def match_end(self, str text, Py_ssize_t pos):
        """end() for tests: the end of the match at `pos`, or None."""
        cdef Py_ssize_t end = self.end(text, pos)
        return None if end < 0 else end


cdef Py_ssize_t _m_run(Matcher m, const _Char *text, Py_ssize_t n, int node, Py_ssize_t pos,
                       _MCont *cont) noexcept:
    """The end of a match of the nodes from `node` on at `pos`, then of `cont`'s; -1: none. Tries what
    re tries in re's order: a greedy repeat longest first, alternatives left to right."""
    cdef const _MNode *x
    cdef Py_ssize_t k, r
    cdef int a, first
    while True:
        if node < 0:
            if cont == NULL:
                return pos
            return _m_repeat(m, text, n, cont.node, cont.count + 1, pos, cont.up)
        x = &m.nodes[node]
        if x.op == M_SET:
            if pos >= n or not _in_set(&m.sets[x.cset], text[pos]):
                return -1
            pos += 1
            node = x.next
        elif x.op == M_REPEAT:
            k = 0
            while k < x.hi and pos + k < n and _in_set(&m.sets[x.cset], text[pos + k]):
                k += 1
            if k < x.lo:
                return -1
            if k == x.lo or (x.next < 0 and cont == NULL):  # nothing to give back, or no need to
                pos += k
                node = x.next
                continue
            while k >= x.lo:
                r = _m_run(m, text, n, x.next, pos + k, cont)
                if r >= 0:
                    return r
                k -= 1
            return -1
        elif x.op == M_BRANCH:
            for a in range(x.n_alts):
                first = m.alts[x.first_alt + a]
                if first >= 0 and m.nodes[first].op == M_SET and (
                    pos >= n or not _in_set(&m.sets[m.nodes[first].cset], text[pos])
                ):
                    continue  # its first character is not here: no call to find that out
                r = _m_run(m, text, n, first, pos, cont)
                if r >= 0:
                    return r
            return -1
        elif x.op == M_GROUP_REPEAT:
            return _m_repeat(m, text, n, node, 0, pos, cont)
        elif x.op == M_AHEAD or x.op == M_NOT_AHEAD:  # atomic, as in re
            if (_m_run(m, text, n, x.body, pos, NULL) >= 0) != (x.op == M_AHEAD):
                return -1
            node = x.next
        else:  # a lookbehind of a fixed width: it may read before `pos`, as re's does
            r = _m_run(m, text, n, x.body, pos - x.width, NULL) if pos >= x.width else -1
            if (r >= 0) != (x.op == M_BEHIND):
                return -1
            node = x.next


cdef Py_ssize_t _m_repeat(Matcher m, const _Char *text, Py_ssize_t n, int node, int count,
                          Py_ssize_t pos, _MCont *cont) noexcept:
    """A repeated group after `count` repetitions: one more first (greedy), then what follows it."""
    cdef const _MNode *x = &m.nodes[node]
    cdef _MCont here
    cdef Py_ssize_t r
    if count < x.hi:
        here.node, here.count, here.up = node, count, cont
        r = _m_run(m, text, n, x.body, pos, &here)
        if r >= 0:
            return r
    if count >= x.lo:
        return _m_run(m, text, n, x.next, pos, cont)
    return -1


def matcher(pattern):
    """A Matcher for a compiled pattern, or None when matchprog cannot express it."""
    program = matchprog.program(pattern)
    return None if program is None else Matcher(program)


cdef class _Entry:
    cdef object d, labels, pattern, match, normalise, validate, damage
    cdef Matcher matcher  # None: re confirms (a value group's span is needed, or matchprog refused)
    cdef str entity
    cdef object group
    cdef bint masked, has_group
    cdef double score, threshold, header_boost, boost
    cdef int priority, window, negative_window, normaliser, validator
    cdef _Words positive, negative
    cdef _NameCheck name_check

    def __init__(self, d, labels, pattern):
        self.d, self.labels, self.pattern = d, labels, pattern
        self.match = pattern.compiled.match
        self.matcher = None if pattern.value_group else matcher(pattern.compiled)
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
        self.name_check = _name_check(self.validate)
        self.validator = _C_VALIDATORS.get(self.validate, V_NAME if self.name_check is not None else V_PYTHON)
        self.damage = DAMAGE_CHECKS.get(d.validator or "")
        self.positive = _Words(d.context.words)
        self.negative = _Words(d.negative_context.words)


_C_VALIDATORS = {
    validators.cn_bank_card: V_BANK_CARD,
    validators.cn_mobile: V_MOBILE,
    validators.cn_resident_id: V_RESIDENT_ID,
    validators.cn_uscc: V_USCC,
    validators.cn_address: V_ADDRESS,
}


cdef inline bint _is_cased_wide(Py_UCS4 c) noexcept:
    return (<unsigned int> c) >= 128 and not _han(c) and (
        Py_UNICODE_ISUPPER(c) or Py_UNICODE_ISLOWER(c) or Py_UNICODE_ISTITLE(c)
    )


cdef extern from "Python.h":
    int PyUnicode_KIND(object o)
    void *PyUnicode_DATA(object o)
    Py_UCS4 PyUnicode_READ(int kind, void *data, Py_ssize_t index)
    Py_ssize_t PyUnicode_FindChar(object text, Py_UCS4 ch, Py_ssize_t start, Py_ssize_t end,
                                  int direction) except -2
    bint Py_UNICODE_ISUPPER(Py_UCS4 ch)
    bint Py_UNICODE_ISLOWER(Py_UCS4 ch)
    bint Py_UNICODE_ISTITLE(Py_UCS4 ch)
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch)
    bint Py_UNICODE_ISDECIMAL(Py_UCS4 ch)
    bint Py_UNICODE_ISDIGIT(Py_UCS4 ch)
    bint Py_UNICODE_ISALNUM(Py_UCS4 ch)
    Py_UCS4 Py_UNICODE_TOLOWER(Py_UCS4 ch)


cdef extern from *:
    """
    /* text[i] for 0 <= i < len(text), without the bounds checks of an index; always inlined (GCC
       otherwise calls it out of line from the largest callers, such as the companion-name loop). */
    #if defined(__GNUC__) || defined(__clang__)
    static inline __attribute__((always_inline))
    #else
    static CYTHON_INLINE
    #endif
    Py_UCS4 dlpscan_char_at(PyObject *text, Py_ssize_t i) {
        return PyUnicode_READ(PyUnicode_KIND(text), PyUnicode_DATA(text), i);
    }
    """
    Py_UCS4 _at "dlpscan_char_at" (str text, Py_ssize_t i) noexcept


cdef Py_ssize_t _last(_Words words, const _Char *data, Py_ssize_t lo, Py_ssize_t hi) noexcept:
    """scoring._last: start of the last non-overlapping leftmost-longest word match in data[lo:hi]."""
    cdef Py_ssize_t p = lo, at = -1, n = 0, i, k
    cdef Py_UCS4 c
    cdef Py_UCS4 *w
    cdef bint hit
    if words.count == 0:
        return -1
    while p < hi:
        c = _lower(data[p])
        hit = False
        if words.first[_slot(c)]:
            for i in range(words.count):
                n = words.lengths[i]
                w = words.chars[i]
                if n == 0 or p + n > hi or w[0] != c:
                    continue
                for k in range(1, n):
                    if _lower(data[p + k]) != w[k]:
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


cdef inline Py_UCS4 _lower(Py_UCS4 c) noexcept:
    """Py_UNICODE_TOLOWER, without the call for ASCII and Han characters."""
    if c < 128:
        return <Py_UCS4> (<unsigned int> c + 32) if u'A' <= c <= u'Z' else c
    if _han(c):
        return c
    return Py_UNICODE_TOLOWER(c)


cdef bint _window_exact(const _Char *data, Py_ssize_t lo, Py_ssize_t hi) noexcept:
    cdef Py_ssize_t i
    for i in range(lo, hi):
        if _is_cased_wide(data[i]):
            return False
    return True


cdef enum:
    _EVIDENCE_IN_PYTHON = 2  # _label_evidence's answer where a char-by-char compare could differ


cdef int _evidence(_Entry e, str text, Py_ssize_t start, Py_ssize_t floor):
    """scoring.label_evidence; the Python function where a char-by-char compare could differ."""
    cdef int kind = PyUnicode_KIND(text), found
    cdef void *data = PyUnicode_DATA(text)
    if kind == 1:
        found = _label_evidence(e, <const unsigned char *> data, start, floor)
    elif kind == 2:
        found = _label_evidence(e, <const unsigned short *> data, start, floor)
    else:
        found = _label_evidence(e, <const Py_UCS4 *> data, start, floor)
    if found == _EVIDENCE_IN_PYTHON:
        return label_evidence(e.d, e.labels, text, start, floor)
    return found


cdef int _label_evidence(_Entry e, const _Char *data, Py_ssize_t start, Py_ssize_t floor) noexcept:
    """1: a label word before `start` (within the entry's window, past `floor`), -1: a negative word
    after the last label, 0: neither; _EVIDENCE_IN_PYTHON when a word or the window is cased beyond
    ASCII."""
    cdef Py_ssize_t lo = max(floor, start - e.window)
    cdef Py_ssize_t nlo = max(floor, start - e.negative_window)
    cdef Py_ssize_t pos_at, neg_at
    if not (e.positive.exact and e.negative.exact and _window_exact(data, min(lo, nlo), start)):
        return _EVIDENCE_IN_PYTHON
    pos_at = _last(e.positive, data, lo, start)
    neg_at = _last(e.negative, data, nlo, start)
    if neg_at > pos_at:
        return -1
    return 1 if pos_at >= 0 else 0


cdef Py_ssize_t _rfind_nl(str text, Py_ssize_t lo, Py_ssize_t hi) except -2:
    """text.rfind("\\n", lo, hi)."""
    if hi <= lo:
        return -1
    return PyUnicode_FindChar(text, u'\n', lo, hi, -1)


cdef bint _blank(str text, Py_ssize_t lo, Py_ssize_t hi) noexcept:
    """not text[lo:hi].strip(): only white space (str.isspace), or nothing."""
    cdef Py_ssize_t i
    for i in range(lo, hi):
        if not Py_UNICODE_ISSPACE(_at(text, i)):
            return False
    return True


cdef Py_ssize_t _line_bounds(str text, Py_ssize_t start, Py_ssize_t floor) except -2:
    """scoring.line_bounds: looks back at most CONTEXT_REACH characters (linear on one long line)."""
    cdef Py_ssize_t reach = _CONTEXT_REACH
    cdef Py_ssize_t lo = max(floor, start - reach)
    cdef Py_ssize_t line_start = _rfind_nl(text, lo, start) + 1
    if line_start == 0:
        line_start = lo
    if line_start > lo:
        if _blank(text, line_start, start):
            line_start = _rfind_nl(text, lo, line_start - 1) + 1
            if line_start == 0:
                line_start = lo
    return line_start


cdef inline str _normalise(_Entry e, str raw):
    return _normalised(e.normaliser, e.normalise, raw)


cdef str _normalised(int normaliser, object python, str raw):
    """The definition's normaliser (`python`, the registry's function) of `raw`, in C where it is one
    of _NORMALISERS."""
    cdef Py_ssize_t n = len(raw), i, k = 0
    cdef Py_UCS4 c
    cdef Py_UCS4 *buf
    if normaliser == N_PYTHON:
        return python(raw)
    if _kept_whole(normaliser, raw, n):  # the usual case: nothing to drop or change, no copy
        return raw
    buf = <Py_UCS4 *> malloc((n + 1) * sizeof(Py_UCS4))
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            c = _at(raw, i)
            if normaliser == N_UPPER_ALNUM:
                if u'0' <= c <= u'9' or u'A' <= c <= u'Z':
                    buf[k] = c
                    k += 1
                elif u'a' <= c <= u'z':
                    buf[k] = <Py_UCS4> (<unsigned int> c - 32)
                    k += 1
            elif normaliser == N_NO_SPACE:
                if not Py_UNICODE_ISSPACE(c):
                    buf[k] = c
                    k += 1
            elif normaliser == N_NAME:
                if not (c == u';' or Py_UNICODE_ISSPACE(c)):
                    buf[k] = c
                    k += 1
            elif u'0' <= c <= u'9' or (c >= 128 and Py_UNICODE_ISDECIMAL(c)):
                buf[k] = c
                k += 1
        if normaliser == N_MOBILE and k > 11:
            return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf + k - 11, 11)
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, k)
    finally:
        free(buf)


cdef bint _kept_whole(int normaliser, str raw, Py_ssize_t n) noexcept:
    """Would _normalise return `raw` unchanged (every character kept as it is)?"""
    cdef Py_ssize_t i
    cdef Py_UCS4 c
    cdef int kind = PyUnicode_KIND(raw)
    cdef void *data = PyUnicode_DATA(raw)
    if normaliser == N_MOBILE and n > 11:
        return False
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if normaliser == N_UPPER_ALNUM:
            if not (u'0' <= c <= u'9' or u'A' <= c <= u'Z'):
                return False
        elif normaliser == N_NO_SPACE:
            if Py_UNICODE_ISSPACE(c):
                return False
        elif normaliser == N_NAME:
            if c == u';' or Py_UNICODE_ISSPACE(c):
                return False
        elif not (u'0' <= c <= u'9'):
            return False
    return True


cdef bint _all_digits(str value):
    """str.isdigit()."""
    cdef Py_ssize_t i, n = len(value)
    if n == 0:
        return False
    cdef Py_UCS4 c
    for i in range(n):
        c = _at(value, i)
        if not (u'0' <= c <= u'9' or (c >= 128 and Py_UNICODE_ISDIGIT(c))):
            return False
    return True


cdef double _bank_card(str value) except -1:
    """validators.cn_bank_card: shape, Luhn and distinct digits here, the BIN table in Python."""
    cdef Py_ssize_t n = len(value), i
    cdef long total = 0, d
    cdef Py_UCS4 first, second = 0, c
    cdef int distinct = 1
    if not (16 <= n <= 19 and _all_digits(value)):
        return 0.0
    for i in range(n):  # validators.luhn: ord(ch) - 48, every second digit from the right doubled
        d = <long> _at(value, n - 1 - i) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    if total % 10 != 0:
        return 0.0
    first = _at(value, 0)
    for i in range(1, n):  # len(set(value)) <= 2
        c = _at(value, i)
        if c != first and (distinct == 1 or c != second):
            if distinct == 1:
                second = c
            distinct += 1
            if distinct > 2:
                break
    if distinct <= 2:
        return 0.0
    return _card_issuer(value)


cdef dict _BINS = None
cdef tuple _BIN_LENGTHS = None
# The BIN table as one sorted C array of keys (prefix length << 40 | prefix) with the issuer's card
# lengths as a bit mask beside each (0: none recorded). A table the arrays cannot hold (a BIN that is
# not ASCII digits or is longer than 12, a card length above 63) leaves them unset: the dict decides.
cdef long long *_BIN_KEYS = NULL
cdef unsigned long long *_BIN_MASKS = NULL
cdef Py_ssize_t _N_BIN_KEYS = 0
cdef int _BIN_KEY_LENGTHS[13]
cdef int _N_BIN_KEY_LENGTHS = 0


cdef void _read_bins() except *:
    global _BINS, _BIN_LENGTHS, _BIN_KEYS, _BIN_MASKS, _N_BIN_KEYS, _N_BIN_KEY_LENGTHS
    cdef Py_ssize_t i
    cdef unsigned long long mask
    bins, lengths = tables.bank_bins(), tables.bin_lengths()
    usable = all(1 <= len(b) <= 12 and _digits_only(b) for b in bins) and all(
        0 <= n < 64 for issuer in bins.values() for n in issuer.lengths)
    if usable and bins:
        keys = sorted(((len(b) << 40) | int(b), issuer.lengths) for b, issuer in bins.items())
        _BIN_KEYS = <long long *> malloc(len(keys) * sizeof(long long))
        _BIN_MASKS = <unsigned long long *> malloc(len(keys) * sizeof(unsigned long long))
        if _BIN_KEYS == NULL or _BIN_MASKS == NULL:
            raise MemoryError()
        for i, (key, card_lengths) in enumerate(keys):
            mask = 0
            for n in card_lengths:
                mask |= (<unsigned long long> 1) << <int> n
            _BIN_KEYS[i], _BIN_MASKS[i] = key, mask
        for i, n in enumerate(lengths):
            _BIN_KEY_LENGTHS[i] = n
        _N_BIN_KEY_LENGTHS, _N_BIN_KEYS = len(lengths), len(keys)
    _BINS, _BIN_LENGTHS = bins, lengths  # set last: it marks the table read


cdef Py_ssize_t _bin_key_index(long long key) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = _N_BIN_KEYS, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if _BIN_KEYS[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < _N_BIN_KEYS and _BIN_KEYS[lo] == key else -1


cdef double _card_issuer(str value) except -1:
    """validators.card_issuer_confidence."""
    cdef object issuer = None
    cdef Py_ssize_t n = len(value), leading = 0, i, at
    cdef int length
    cdef unsigned long long mask
    cdef long long prefix[13]  # prefix[k]: the first k digits as a number
    cdef Py_UCS4 c
    if _BINS is None:
        _read_bins()
    if _N_BIN_KEYS == 0:
        for length in _BIN_LENGTHS:
            issuer = _BINS.get(value[:length])
            if issuer is not None:
                break
        else:
            return 0.3
        if issuer.lengths and len(value) not in issuer.lengths:
            return 0.3  # a length the issuer does not use: as doubtful as an unknown BIN
        return 1.0
    prefix[0] = 0
    while leading < n and leading < 12:
        c = _at(value, leading)
        if not (u'0' <= c <= u'9'):
            break  # a prefix holding any other character is no BIN
        prefix[leading + 1] = prefix[leading] * 10 + (<long long> c - 48)
        leading += 1
    for i in range(_N_BIN_KEY_LENGTHS):
        length = _BIN_KEY_LENGTHS[i]
        if length > leading:
            continue
        at = _bin_key_index((<long long> length << 40) | prefix[length])
        if at >= 0:
            mask = _BIN_MASKS[at]
            if mask and not (n < 64 and (mask >> n) & 1):
                return 0.3
            return 1.0
    return 0.3


cdef double _mobile(str value) except -1:
    """validators.cn_mobile."""
    if len(value) != 11 or not _all_digits(value):
        return 0.0
    return _mobile_segment(value, _MOBILE_SEGMENT)


_MOBILE_SEGMENT = validators.mobile_segment_confidence
cdef frozenset _SAMPLE_IDS = validators.SAMPLE_IDS
cdef frozenset _PLACEHOLDER_MOBILES = validators.PLACEHOLDER_MOBILES


# ---- validators in C -----------------------------------------------------------------------------
# Each is the Python function in validators.py, decided alike; a value holding a character the C code
# does not handle (a non-ASCII digit from the `digits` normaliser) goes to the Python function.
# The reference tables (division codes, mobile prefixes) are read into C arrays once per process.

cdef short *_DIVISION = NULL  # 6-digit code -> last year; _UNKNOWN_CODE absent; _NO_LAST_YEAR current
cdef enum:
    _UNKNOWN_CODE = -32768
    _NO_LAST_YEAR = 32767
cdef unsigned char *_PREFIX[8]  # _PREFIX[n][int(value[:n])] -> number length (0: not a prefix)
cdef int _PREFIX_LENGTHS[8]  # the prefix lengths of the table, longest first (as validators._prefix_lengths)
cdef int _N_PREFIX_LENGTHS = 0
cdef bint _TABLES_READ = False
cdef bint _TABLES_USABLE = False


cdef bint _digits_only(str s):
    cdef Py_UCS4 c
    for c in s:
        if not (u'0' <= c <= u'9'):
            return False
    return True


cdef void _read_tables() except *:
    """Division codes and mobile prefixes as C arrays; unusual tables (codes that are not digits,
    prefixes of more than 6 digits) leave _TABLES_USABLE false and the Python validators decide."""
    global _DIVISION, _N_PREFIX_LENGTHS, _TABLES_READ, _TABLES_USABLE
    cdef Py_ssize_t i, size, k
    cdef int n
    _TABLES_READ = True
    divisions = tables.divisions()
    prefixes = tables.mobile_prefixes()
    lengths = validators._prefix_lengths()
    if not all(len(c) == 6 and _digits_only(c) for c in divisions):
        return
    if not all(1 <= len(p) <= 6 and _digits_only(p) and 0 < v < 256 for p, v in prefixes.items()):
        return
    if any(d.last_year is not None and not (-32000 < d.last_year < 32000) for d in divisions.values()):
        return
    _DIVISION = <short *> malloc(1000000 * sizeof(short))
    if _DIVISION == NULL:
        raise MemoryError()
    for i in range(1000000):
        _DIVISION[i] = _UNKNOWN_CODE
    for code, d in divisions.items():
        _DIVISION[int(code)] = _NO_LAST_YEAR if d.last_year is None else d.last_year
    _N_PREFIX_LENGTHS = len(lengths)
    for i, n in enumerate(lengths):
        _PREFIX_LENGTHS[i] = n
        size = 1
        for k in range(n):
            size *= 10
        _PREFIX[n] = <unsigned char *> malloc(size)
        if _PREFIX[n] == NULL:
            raise MemoryError()
        for k in range(size):
            _PREFIX[n][k] = 0
    for p, v in prefixes.items():
        _PREFIX[len(p)][int(p)] = v
    _TABLES_USABLE = True


cdef bint _tables() except -1:
    if not _TABLES_READ:
        _read_tables()
    return _TABLES_USABLE


def read_tables():
    """Read the reference tables into C now rather than at the first candidate (see detect.warm)."""
    _tables()
    if _BINS is None:
        _read_bins()


cdef inline int _digit(str s, Py_ssize_t i) noexcept:
    return <int> _at(s, i) - 48


cdef long _number(str s, Py_ssize_t lo, Py_ssize_t hi) noexcept:
    cdef long v = 0
    cdef Py_ssize_t i
    for i in range(lo, hi):
        v = v * 10 + _digit(s, i)
    return v


cdef long _TODAY = 0  # validators._today() as a number, asked again once a minute (as it refreshes)
cdef time_t _TODAY_ASKED = 0


cdef long _today_number() except -1:
    global _TODAY, _TODAY_ASKED
    cdef time_t now = time(NULL)
    if _TODAY == 0 or now - _TODAY_ASKED >= 60 or now < _TODAY_ASKED:
        _TODAY, _TODAY_ASKED = int(validators._today()), now
    return _TODAY


cdef int _DAYS[13]
_DAYS[:] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


cdef bint _plausible_birth(long year, long month, long day, long today) noexcept:
    """validators._plausible_birth over the digits of YYYYMMDD."""
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month]):
        return False
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return False
    return 19000101 <= year * 10000 + month * 100 + day <= today



cdef double _resident_id(str value, object python) except -1:
    """validators.cn_resident_id."""
    cdef Py_ssize_t n = len(value), i
    cdef long acc = 0, check, year, month, day, code
    cdef short last
    cdef double confidence
    cdef Py_UCS4 c
    if not _tables():
        return python(value)
    for i in range(n):
        c = _at(value, i)
        if not (u'0' <= c <= u'9' or u'A' <= c <= u'Z'):
            return python(value)
    if n == 18:
        for i in range(17):
            if not (u'0' <= _at(value, i) <= u'9'):
                return 0.0
            acc = (acc * 13 + _digit(value, i)) % 11
        check = ((1 - 2 * acc) % 11 + 11) % 11
        c = _at(value, 17)
        if (check == 10 and c != u'X') or (check != 10 and <long> (<unsigned int> c) != 48 + check):
            return 0.0
        year, month, day = _number(value, 6, 10), _number(value, 10, 12), _number(value, 12, 14)
    elif n == 15 and _digits_only(value):
        year, month, day = 1900 + _number(value, 6, 8), _number(value, 8, 10), _number(value, 10, 12)
    else:
        return 0.0
    if not _plausible_birth(year, month, day, _today_number()):
        return 0.0
    code = _number(value, 0, 6)
    if not _PROVINCE[code // 10000]:
        return 0.0
    last = _DIVISION[code]
    if last == _UNKNOWN_CODE:
        confidence = 0.7
    elif last != _NO_LAST_YEAR and year > last + 1:
        confidence = 0.2
    else:
        confidence = 1.0
    if value in _SAMPLE_IDS:
        confidence = min(confidence, 0.3)
    return confidence


cdef bint _PROVINCE[100]  # the two-digit province codes of validators.PROVINCES
for _i in range(100):
    _PROVINCE[_i] = False
for _p in validators.PROVINCES:
    _PROVINCE[int(_p)] = True


cdef double _mobile_segment(str value, object python) except -1:
    """validators.mobile_segment_confidence for 11 digits."""
    cdef int i, n, length = 0
    cdef Py_UCS4 first
    if not (_tables() and _digits_only(value)):
        return python(value)
    for i in range(_N_PREFIX_LENGTHS):
        n = _PREFIX_LENGTHS[i]
        length = _PREFIX[n][_number(value, 0, n)]
        if length:
            break
    if length != 11:
        return 0.0
    first = _at(value, 3)
    for i in range(4, 11):
        if _at(value, i) != first:
            break
    else:
        return 0.4
    if value in _PLACEHOLDER_MOBILES:
        return 0.4
    return 1.0


cdef signed char _USCC_INDEX[128]
for _i in range(128):
    _USCC_INDEX[_i] = -1
for _i, _c in enumerate(validators._USCC_ALPHABET):
    _USCC_INDEX[ord(_c)] = _i
_USCC_WEIGHTS_C = validators._USCC_WEIGHTS
_USCC_CATEGORIES_C = validators._USCC_CATEGORIES
_USCC_REGIONS = frozenset(int(p) for p in validators.PROVINCES | {"10"})


cdef double _uscc(str value) except -1:
    """validators.cn_uscc."""
    cdef Py_ssize_t i
    cdef long total = 0, k
    cdef Py_UCS4 c
    cdef bint digits = True
    if len(value) != 18:
        return 0.0
    for i in range(18):
        c = _at(value, i)
        if c >= 128 or _USCC_INDEX[c] < 0:
            return 0.0
        if not (u'0' <= c <= u'9'):
            digits = False
    if value[1] not in _USCC_CATEGORIES_C.get(value[0], ""):
        return 0.0
    if not (u'0' <= value[2] <= u'9' and u'0' <= value[3] <= u'9') or _number(value, 2, 4) not in _USCC_REGIONS:
        return 0.0
    for i in range(17):
        total += _USCC_INDEX[_at(value, i)] * <long> _USCC_WEIGHTS_C[i]
    k = (31 - total % 31) % 31
    if _USCC_INDEX[_at(value, 17)] != k:
        return 0.0
    return 0.3 if digits else 1.0


cdef double _address(str value):
    """validators.cn_address: an administrative unit (省|自治区|市|区|县|旗|州|盟|镇|乡|街道) and a
    street, number or building component (\\d(?:号|栋|幢|座|室|弄|组|层|楼|户|单元)|[路街巷道弄村])."""
    cdef int kind = PyUnicode_KIND(value)
    cdef void *data = PyUnicode_DATA(value)
    if len(value) < 6:
        return 0.0
    if kind == 1:
        return _address_in(<const unsigned char *> data, len(value))
    if kind == 2:
        return _address_in(<const unsigned short *> data, len(value))
    return _address_in(<const Py_UCS4 *> data, len(value))


cdef unsigned char _ADDRESS_CHARS[1024]  # [c & 1023]: c may be one of the characters _address_in reads
for _c in "*省市区县旗州盟镇乡街道路巷弄村号栋幢座室组层楼户单元":
    _ADDRESS_CHARS[ord(_c) & 1023] = 1


cdef double _address_in(const _Char *value, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    cdef Py_UCS4 c, nxt
    cdef bint admin = False, unit = False
    for i in range(n):
        nxt = value[i + 1] if i + 1 < n else 0
        if not _ADDRESS_CHARS[(<unsigned int> nxt) & 1023] and not _ADDRESS_CHARS[(<unsigned int> value[i]) & 1023]:
            continue  # most characters: neither this one nor the next is one the tests read
        c = value[i]
        if c == u'*':
            return 0.0
        if c in u'省市区县旗州盟镇乡' or (c == u'街' and nxt == u'道'):
            admin = True
        if c in u'路街巷道弄村':
            unit = True
        elif nxt != 0 and (
            nxt in u'号栋幢座室弄组层楼户' or (nxt == u'单' and i + 2 < n and <Py_UCS4> value[i + 2] == u'元')
        ) and Py_UNICODE_ISDECIMAL(c):  # the cheap tests first: most characters are not before a unit
            unit = True
    return 1.0 if admin and unit else 0.0


@cython.final  # its methods called directly, not through a table: no class derives from it
cdef class _Keys:
    """Words of one to four characters below U+10000, each packed 16 bits a character into an integer
    and sorted, one array per length: a set lookup of a slice of a text without making the slice."""

    cdef unsigned long long *keys[5]
    cdef Py_ssize_t counts[5]

    def __cinit__(self, words):
        cdef Py_ssize_t n, k
        cdef list by_length = [[] for _ in range(5)]
        cdef list packed
        for n in range(5):
            self.keys[n] = NULL
            self.counts[n] = 0
        for w in words:
            if 1 <= len(w) <= 4 and all(ord(c) < 0x10000 for c in w):
                (<list> by_length[len(w)]).append(_pack(w, 0, len(w)))
        for n in range(1, 5):
            packed = sorted(set(<list> by_length[n]))
            self.keys[n] = <unsigned long long *> malloc(max(1, len(packed)) * sizeof(unsigned long long))
            if self.keys[n] == NULL:
                raise MemoryError()
            for k in range(len(packed)):
                self.keys[n][k] = packed[k]
            self.counts[n] = len(packed)

    def __dealloc__(self):
        for n in range(5):
            free(self.keys[n])

    cdef bint has(self, str text, Py_ssize_t start, Py_ssize_t n) noexcept:
        """Is text[start:start + n] (1 <= n <= 4, every character below U+10000) one of the words?"""
        cdef unsigned long long key = _pack(text, start, n), probe
        cdef const unsigned long long *keys = self.keys[n]
        cdef Py_ssize_t lo = 0, hi = self.counts[n], mid
        while lo < hi:
            mid = (lo + hi) >> 1
            probe = keys[mid]
            if probe == key:
                return True
            if probe < key:
                lo = mid + 1
            else:
                hi = mid
        return False


cdef inline unsigned long long _pack(str text, Py_ssize_t start, Py_ssize_t n) noexcept:
    cdef unsigned long long key = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t i
    for i in range(start, start + n):
        key = (key << 16) | <unsigned long long> PyUnicode_READ(kind, data, i)
    return key


@cython.final
cdef class _NameCheck:
    """validators.cn_name bound to the loaded definitions' label words."""

    cdef frozenset labels, stopwords, single, compound
    cdef _Keys rejected, label_keys, endings, surname_keys  # the same sets as _Keys (endings: None
                                                            # when not all two characters long)

    def __init__(self, labels):
        self.labels = frozenset(labels)
        self.stopwords = tables.name_stopwords()
        self.single, self.compound = tables.surnames()
        self.rejected = _Keys(self.labels | self.stopwords)
        self.label_keys = _Keys(self.labels)
        self.endings = _Keys(_TWO_CHAR_ENDINGS) if _TWO_CHAR_ENDINGS is not None else None
        self.surname_keys = _Keys(self.single | self.compound)

    def __call__(self, str value):
        return self.check(value)

    cdef double check_span(self, str text, Py_ssize_t start, Py_ssize_t end) except -1:
        """check(text[start:end]) for 2-4 Han characters, without making the slice."""
        if self.endings is None:
            return self.check(text[start:end])
        return self._undotted(text, start, end - start)

    cdef double _undotted(self, str text, Py_ssize_t start, Py_ssize_t n) except -1:
        """The lookups of `check` for text[start:start + n], 2-4 Han characters (`endings` set)."""
        cdef Py_ssize_t k
        if self.rejected.has(text, start, n) or self.endings.has(text, start + n - 2, 2):
            return 0.0
        for k in range(2, n):
            if self.label_keys.has(text, start, k):
                return 0.0
        if n >= 3 and self.surname_keys.has(text, start, 2):  # a compound surname
            return 1.0
        return 1.0 if self.surname_keys.has(text, start, 1) else 0.0

    cdef double check(self, str value) except -1:
        cdef Py_ssize_t n = len(value), i, run = 0, k
        cdef Py_UCS4 c
        cdef bint dotted = False
        if n < 2:
            return 0.0
        for i in range(n):  # _HAN_NAME.fullmatch
            c = _at(value, i)
            if _han(c):
                run += 1
                if run > 8:
                    return 0.0
            elif c == u'\u00b7' and run > 0 and i + 1 < n:
                dotted = True
                run = 0
            else:
                return 0.0
        if not dotted and n > 4:
            return 0.0
        if not dotted and self.endings is not None:
            return self._undotted(value, 0, n)
        if value in self.labels or value in self.stopwords:
            return 0.0
        if _TWO_CHAR_ENDINGS is not None:  # one lookup instead of a compare per suffix
            if value[n - 2:] in _TWO_CHAR_ENDINGS:
                return 0.0
        elif value.endswith(_ORG_SUFFIXES) or value.endswith(_HONORIFICS):
            return 0.0
        for k in range(2, n):
            if value[:k] in self.labels:
                return 0.0
        if dotted:
            return 0.8
        if n >= 3 and value[:2] in self.compound:
            return 1.0
        if value[:1] in self.single:
            return 1.0
        return 0.0


_ORG_SUFFIXES = validators._ORG_SUFFIXES
_HONORIFICS = validators._HONORIFICS
# Both lists hold two-character words today: then a name's last two characters are looked up in a set.
cdef frozenset _TWO_CHAR_ENDINGS = (
    frozenset(_ORG_SUFFIXES + _HONORIFICS) if all(len(w) == 2 for w in _ORG_SUFFIXES + _HONORIFICS) else None
)


cdef class _Compiled:
    """A validator of _C_VALIDATORS run in C; called like the Python one."""

    cdef int validator
    cdef object python

    def __call__(self, str value):
        if self.validator == V_BANK_CARD:
            return _bank_card(value)
        if self.validator == V_MOBILE:
            return _mobile(value)
        if self.validator == V_RESIDENT_ID:
            return _resident_id(value, self.python)
        if self.validator == V_USCC:
            return _uscc(value)
        return _address(value)


def fast_validator(object validate):
    """The compiled form of `validate` (a validator as Labels binds it) where the candidate loop has
    one, else `validate` itself."""
    cdef _Compiled compiled
    cdef _NameCheck name_check = _name_check(validate)
    cdef int which = _C_VALIDATORS.get(validate, V_NAME if name_check is not None else V_PYTHON)
    if which == V_PYTHON:
        return validate
    if which == V_NAME:
        return name_check
    compiled = _Compiled.__new__(_Compiled)
    compiled.validator, compiled.python = which, validate
    return compiled


cdef object _name_check(object validate):
    """A _NameCheck when `validate` is validators.cn_name bound by validators.bind (or one already),
    else None."""
    if isinstance(validate, _NameCheck):
        return validate
    if isinstance(validate, functools.partial) and validate.func is validators.cn_name and not validate.args:
        if set(validate.keywords) == {"labels"}:
            return _NameCheck(validate.keywords["labels"])
    return None


def validate(str name, str value, labels=frozenset()):
    """The C version of validators.<name> (tests compare it with the Python one)."""
    if name == "cn_resident_id":
        return _resident_id(value, validators.cn_resident_id)
    if name == "cn_mobile":
        return _mobile(value)
    if name == "mobile_segment_confidence":
        return _mobile_segment(value, validators.mobile_segment_confidence)
    if name == "cn_uscc":
        return _uscc(value)
    if name == "cn_address":
        return _address(value)
    if name == "cn_bank_card":
        return _bank_card(value)
    if name == "cn_name":
        return (<_NameCheck> _NameCheck(labels)).check(value)
    if name == "card_issuer_confidence":
        return _card_issuer(value)
    raise KeyError(name)


def tally(list findings, dict batches, totals, locations, frozenset personal, object where,
          object unexposed, Py_ssize_t max_places, object marked, object today):
    """aggregate.tally compiled: one block's findings into the aggregate's dicts; returns the block's
    records (rows or lines with two or more personal-data findings). `batches` (type -> [values,
    flags]) receives each value with its flag (1: confirmed, 2: a resident ID of type `marked` whose
    holder is a minor on `today`); `totals` and `locations` are the aggregate's defaultdicts,
    `where(record)` a finding's location (None: no locations), `unexposed(f)` takes damaged and
    masked findings."""
    cdef dict per_type = {}, per_record = None
    cdef list entry
    cdef object f, etype, value, record
    cdef dict places
    cdef int flag, ty = today.year, tm = today.month, td = today.day
    cdef Py_ssize_t records = 0, run = 0, run_record = 0, r, lo = 0, hi = 0, i
    cdef unsigned int *counts = NULL  # personal findings per record, when records are out of order
    cdef bint ascending = _record_range(findings, &lo, &hi)  # then a record's findings come in one run
    if not ascending:
        if hi - lo <= 4 * len(findings) + 4096:  # the rows of a table
            counts = <unsigned int *> calloc(hi - lo + 1, sizeof(unsigned int))
            if counts == NULL:
                raise MemoryError()
        else:
            per_record = {}
    try:
        for f in findings:
            if _get(f, F_DAMAGED) or _get(f, F_MASKED):
                unexposed(f)
                continue
            etype = _get(f, F_ENTITY_TYPE)
            entry = per_type.get(etype)
            if entry is None:
                entry = batches.get(etype)
                if entry is None:
                    entry = batches[etype] = [[], []]
                entry = per_type[etype] = [entry[0], entry[1], locations[etype] if where is not None else None,
                                           etype in personal, len(entry[0]), etype == marked]
            value = _get(f, F_VALUE)
            flag = 1 if _get(f, F_CONFIRMED) else 0
            if entry[5] and _is_minor(value, today, ty, tm, td):
                flag |= 2
            (<list> entry[0]).append(value)
            (<list> entry[1]).append(flag)
            record = _get(f, F_RECORD)
            if where is not None:
                places = <dict> entry[2]
                if len(places) < max_places:
                    places[where(record)] = None
            if not entry[3]:
                continue
            if per_record is not None:
                per_record[record] = per_record.get(record, 0) + 1
                continue
            r = record
            if counts != NULL:
                counts[r - lo] += 1
            elif run and r == run_record:
                run += 1
            else:
                records += run >= 2
                run, run_record = 1, r
        records += run >= 2
        if counts != NULL:
            for i in range(hi - lo + 1):
                records += counts[i] >= 2
        elif per_record is not None:
            for count in per_record.values():
                records += count >= 2
    finally:
        free(counts)
    for etype, entry in per_type.items():  # one value was appended per finding counted
        totals[etype] += len(<list> entry[0]) - <Py_ssize_t> entry[4]
    return records


cdef bint _records_ascending(list findings) except -1:
    """Are the findings' records in ascending order (text lines and table rows, found in order)?"""
    cdef Py_ssize_t lo, hi
    return _record_range(findings, &lo, &hi)


cdef bint _record_range(list findings, Py_ssize_t *lo, Py_ssize_t *hi) except -1:
    """`_records_ascending`, and sets `lo` and `hi` to the least and greatest record."""
    cdef Py_ssize_t r, previous = 0
    cdef bint first = True, ascending = True
    for f in findings:
        r = _get(f, F_RECORD)
        if first:
            lo[0] = hi[0] = r
        elif r < previous:
            ascending = False
        if r < lo[0]:
            lo[0] = r
        if r > hi[0]:
            hi[0] = r
        previous, first = r, False
    return ascending


def edm_kept(list findings, dict codes, list found, list places, bint by_record):
    """edm.evidence.EvidenceCollector.add_block's loop: for each finding of a type in `codes` that is
    neither masked nor damaged, appends (type code, value) to `found` and its record (tables) or
    start (text) to `places`. Returns how many it kept."""
    cdef Py_ssize_t kept = 0
    cdef object f, code
    for f in findings:
        code = codes.get(f.entity_type)
        if code is None or f.masked or f.damaged:
            continue
        found.append((code, f.value))
        places.append(f.record if by_record else f.start)
        kept += 1
    return kept


def smallest(Py_ssize_t k, values):
    """heapq.nsmallest(k, set(values)) for strings and a small k (the samples of a type): one
    comparison per value with the largest kept, without a set or heapq's Python loop."""
    cdef list kept = []
    cdef str v
    cdef Py_ssize_t i
    if k <= 0:
        return kept
    for v in values:
        if len(kept) == k and not v < <str> kept[k - 1]:
            continue
        i = len(kept)
        while i > 0 and v < <str> kept[i - 1]:
            i -= 1
        if i > 0 and v == <str> kept[i - 1]:
            continue  # kept already
        kept.insert(i, v)
        if len(kept) > k:
            kept.pop()
    return kept


def is_minor(str value, today):
    """validators.minor_age(value, today), the birth date read in C where it is ASCII digits."""
    return _is_minor(value, today, today.year, today.month, today.day)


cdef bint _is_minor(str value, object today, int ty, int tm, int td) except -1:
    cdef int minor = _minor(value, ty, tm, td)
    return validators.minor_age(value, today) if minor < 0 else minor


cdef int _minor(str value, int ty, int tm, int td):
    """validators.minor_age: 1 or 0; -1 when the birth digits are not all ASCII digits."""
    cdef Py_ssize_t n = len(value), lo, hi, i
    cdef long year, month, day, days
    if n == 18:
        lo, hi = 6, 14
    elif n >= 12:
        lo, hi = 6, 12
    else:
        return -1
    for i in range(lo, hi):
        if not (u'0' <= _at(value, i) <= u'9'):
            return -1
    if n == 18:
        year, month, day = _number(value, 6, 10), _number(value, 10, 12), _number(value, 12, 14)
    else:
        year, month, day = 1900 + _number(value, 6, 8), _number(value, 8, 10), _number(value, 10, 12)
    if not (1 <= year and 1 <= month <= 12):  # datetime.date refuses it: not a minor
        return 0
    days = _DAYS[month]
    if month == 2 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        days = 28
    if not 1 <= day <= days:
        return 0
    return 1 if ty - year - (1 if (tm, td) < (month, day) else 0) < 14 else 0


# ---- folding -------------------------------------------------------------------------------------

cdef unsigned char _FOLD_TO[65536]  # text._FOLD as a table: 0 where a character is not folded
for _i in range(65536):
    _FOLD_TO[_i] = 0
for _k, _v in _text._FOLD.items():
    if not (128 <= _k < 65536 and len(_v) == 1 and 0 < ord(_v) < 128):
        raise ImportError("text._FOLD maps from ASCII, beyond the BMP or to non-ASCII: the compiled fold does not apply")
    _FOLD_TO[_k] = ord(_v)


cdef Py_ssize_t _fold_chars(_Char *chars, Py_ssize_t lo, Py_ssize_t n, bint write) noexcept nogil:
    """The first foldable character's index in chars[lo:n] (-1: none); with `write`, every foldable
    character from lo on is replaced in place. Typed per string kind: reading each character through
    PyUnicode_READ cost four times as much."""
    cdef Py_ssize_t i
    cdef unsigned char to
    for i in range(lo, n):
        if chars[i] < 65536:  # always, below four-byte kinds
            to = _FOLD_TO[chars[i]]
            if to:
                if not write:
                    return i
                chars[i] = to
    return -1


cdef Py_ssize_t _fold_run(int kind, void *data, Py_ssize_t lo, Py_ssize_t n, bint write) noexcept nogil:
    if kind == 1:
        return _fold_chars(<unsigned char *> data, lo, n, write)
    if kind == 2:
        return _fold_chars(<unsigned short *> data, lo, n, write)
    return _fold_chars(<Py_UCS4 *> data, lo, n, write)


def fold(str text):
    """text.fold: full-width forms, dashes, spaces and mask glyphs to ASCII, one char for one char."""
    cdef Py_ssize_t n = len(text), first
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef char *buf
    with nogil:
        first = _fold_run(kind, data, 0, n, False)
    if first < 0:
        return text
    buf = <char *> malloc(n * kind)
    if buf == NULL:
        raise MemoryError()
    try:
        memcpy(buf, data, n * kind)
        with nogil:
            _fold_run(kind, buf, first, n, True)
        return PyUnicode_FromKindAndData(kind, buf, n)  # canonical: folding may lower the widest character
    finally:
        free(buf)


cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    bint PyUnicode_IS_ASCII(object o)
    PyObject *_new_bytes "PyBytes_FromStringAndSize" (const char *v, Py_ssize_t size) except NULL
    char *PyBytes_AS_STRING(object o)
    int _PyBytes_Resize(PyObject **o, Py_ssize_t size) except -1


cdef Py_ssize_t _fold_encode(_Char *chars, Py_ssize_t n, _Char *folded, unsigned char *out,
                             unsigned int *widest, Py_ssize_t *first) noexcept nogil:
    """Each character folded into `folded` and its UTF-8 into `out` (a surrogate as three bytes, as the
    "surrogatepass" error handler writes it); returns the bytes written. `widest`: the folded characters
    OR-ed (below 128, 256 or 65536 exactly when every one is: the folded string's kind); `first`: the
    first foldable character's index (-1: none). `_put_utf8` tests for three bytes first: 18 % faster
    than the one-byte test first on CJK prose; writing four bytes and keeping the length, without a
    branch per character, and a range test that skips the fold table for CJK were both slower."""
    cdef Py_ssize_t i, j = 0, found = -1
    cdef unsigned int c, to, bits = 0
    for i in range(n):
        c = chars[i]
        if c < 65536:  # always, below four-byte kinds
            to = _FOLD_TO[c]
            if to:
                c = to
                if found < 0:
                    found = i
        folded[i] = <_Char> c
        bits |= c
        j += _put_utf8(c, out + j)
    widest[0] = bits
    first[0] = found
    return j


cdef inline Py_UCS4 _max_char(unsigned int widest) noexcept nogil:
    """A maximum character for PyUnicode_New that gives the kind (and ASCII flag) `widest` needs."""
    return 127 if widest < 128 else 255 if widest < 256 else 65535 if widest < 65536 else 0x10FFFF


def fold_utf8(str text):
    """text.fold_utf8: (fold(text), its UTF-8 with surrogates passed) in one pass over `text`, not
    fold's copies and then an encoding: what the Hyperscan pass reads beside the folded string."""
    cdef Py_ssize_t n = len(text), first = -1, size = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef unsigned int widest = 0
    cdef Py_UCS4 source_max = 255 if kind == 1 else 65535 if kind == 2 else 0x10FFFF
    cdef object folded, encoded
    cdef PyObject *raw
    cdef void *target
    cdef unsigned char *out
    if PyUnicode_IS_ASCII(text):  # nothing to fold: every fold ends in ASCII and none starts there
        return text, (<str> text).encode("ascii")
    folded = PyUnicode_New(n, source_max)
    target = PyUnicode_DATA(folded)
    raw = _new_bytes(NULL, n * (2 if kind == 1 else 3 if kind == 2 else 4))
    out = <unsigned char *> PyBytes_AS_STRING(<object> raw)
    with nogil:
        if kind == 1:
            size = _fold_encode(<unsigned char *> data, n, <unsigned char *> target, out, &widest, &first)
        elif kind == 2:
            size = _fold_encode(<unsigned short *> data, n, <unsigned short *> target, out, &widest, &first)
        else:
            size = _fold_encode(<Py_UCS4 *> data, n, <Py_UCS4 *> target, out, &widest, &first)
    _PyBytes_Resize(&raw, size)  # raw is NULL (and an error set) when it fails
    encoded = <object> raw
    Py_DECREF(encoded)
    if first < 0:
        return text, encoded
    if _max_char(widest) != source_max:  # folding lowered the widest character: the canonical kind
        folded = PyUnicode_FromKindAndData(kind, target, n)
    return folded, encoded




cdef inline double _score_boost(_Entry e, int evidence, double header_boost) noexcept:
    return (e.boost if evidence > 0 else 0.0) + header_boost


cdef object _evaluate(_Entry e, object m, Py_ssize_t mstart, Py_ssize_t mend, str text, Py_ssize_t floor,
                      int header, Py_ssize_t record, object column):
    """scoring.evaluate for one confirmed match."""
    cdef Py_ssize_t start, end
    cdef double header_boost, confidence, total
    cdef int seen
    cdef str raw, value
    if header < 0 and not e.has_group:
        return None
    if e.has_group:
        start, end = m.span(e.group)
    else:
        start, end = mstart, mend
    raw = text[start:end]
    header_boost = e.header_boost if header > 0 else 0.0
    if e.masked:
        seen = _evidence(e, text, mstart, _line_bounds(text, mstart, floor))
        total = e.score + _score_boost(e, seen, header_boost)
        if seen < 0 or total < e.threshold:
            return None
        return _finding(e.entity, raw, start, end, min(1.0, total), True, False, _hidden(raw), record,
                        column, seen > 0 or header > 0 or e.has_group)
    value = _normalise(e, raw)
    if e.validator == V_BANK_CARD:
        confidence = _bank_card(value)
    elif e.validator == V_MOBILE:
        confidence = _mobile(value)
    elif e.validator == V_RESIDENT_ID:
        confidence = _resident_id(value, e.validate)
    elif e.validator == V_USCC:
        confidence = _uscc(value)
    elif e.validator == V_ADDRESS:
        confidence = _address(value)
    elif e.validator == V_NAME:
        confidence = e.name_check.check(value)
    else:
        confidence = e.validate(value)
    if confidence <= 0:
        if e.damage is not None and e.damage(value):
            seen = _evidence(e, text, mstart, _line_bounds(text, mstart, floor))
            if seen >= 0 and _score_boost(e, seen, header_boost):
                return _finding(e.entity, value, start, end, 0.5, False, True, 0, record, column, False)
        return None
    seen = _evidence(e, text, mstart, _line_bounds(text, mstart, floor))
    total = e.score * confidence + _score_boost(e, seen, header_boost)
    if seen < 0 or total < e.threshold:
        return None
    return _finding(e.entity, value, start, end, min(1.0, total), False, False, 0, record, column,
                    seen > 0 or header > 0 or e.has_group)


cdef inline bint _outranks(object f, int priority, object best, int best_priority):
    """decide.rank(f) > decide.rank(best)."""
    cdef double a = round(_get(f, F_SCORE), 6), b = round(_get(best, F_SCORE), 6)
    if a != b:
        return a > b
    if priority != best_priority:
        return priority > best_priority
    return (<Py_ssize_t> _get(f, F_END) - <Py_ssize_t> _get(f, F_START)) > (
        <Py_ssize_t> _get(best, F_END) - <Py_ssize_t> _get(best, F_START))


cdef class Plan:
    """The engine's sorted (definition, labels, pattern) entries, prepared for the compiled loop."""

    cdef list entries
    cdef dict _of_type  # entity type -> the indices of its entries

    def __init__(self, entries):
        self.entries = [_Entry(d, labels, p) for d, labels, p in entries]
        self._of_type = {}
        for k, e in enumerate(self.entries):
            self._of_type.setdefault((<_Entry> e).entity, []).append(k)

    def findings(self, str text, starts, ids, header_rel=None, layout=None):
        """Engine._pattern_findings over candidates given as parallel sequences (start, pattern index),
        sorted by (start, index): the scanner's typed arrays ('q'), or lists. Text (no header_rel):
        `record` is the 0-based line number, as evidence.with_line_numbers sets it. Table: `layout`
        (layout.TableLayout) locates each cell."""
        cdef _Candidates candidates = _Candidates(starts, ids)
        # Findings hold no cycles: the collections their allocation would trigger only re-walk
        # long-lived objects (about 10% of the loop), so the collector pauses while it runs.
        enabled = gc.isenabled()
        gc.disable()
        try:
            if header_rel is None:
                return self._findings(text, candidates, None, NULL, 0)
            return self._table_findings(text, candidates, header_rel, layout)
        finally:
            if enabled:
                gc.enable()

    cdef list _table_findings(self, str text, _Candidates candidates, dict header_rel, object layout):
        """_findings with each entry's header relation per column read from one C array."""
        cdef Py_ssize_t width = 1 + max([c for _, c in header_rel], default=-1), c
        cdef Py_ssize_t n_entries = len(self.entries)
        cdef int *relation = <int *> calloc(max(1, n_entries * width), sizeof(int))
        cdef int value
        cdef object k, entity
        cdef _Cells cells
        if relation == NULL:
            raise MemoryError()
        try:
            for (entity, c), value in header_rel.items():  # most headers name no type: zeros, unwritten
                if value != 0:
                    for k in self._of_type.get(entity, ()):
                        relation[<Py_ssize_t> k * width + c] = value
            cells = _Cells(layout)
            return self._findings(text, candidates, cells, relation, width)
        finally:
            free(relation)

    cdef list _findings(self, str text, _Candidates candidates, _Cells cells, const int *relation,
                        Py_ssize_t width):
        cdef list found = []
        cdef const long long *starts = candidates.starts
        cdef const long long *ids = candidates.ids
        cdef Py_ssize_t n = candidates.n, i = 0, j, pos = 0, start, idx, prev_idx, best_end
        cdef Py_ssize_t floor = 0, row = 0, line = 0, counted = 0, c = -1, column = 0, mstart, mend
        cdef int best_priority = 0, header
        cdef double best_score = 0.0
        cdef Py_ssize_t best_start
        cdef _Entry e
        cdef object best, f, m, col = None
        cdef bint table = cells is not None
        while i < n:
            start = starts[i]
            if start < pos:
                i += 1
                continue
            j = i
            while j < n and starts[j] == start:
                j += 1
            if table:  # candidates come in order: the cell holding `start` only moves forward
                while c + 1 < cells.n and cells.starts[c + 1] <= start:
                    c += 1
                if c >= 0:
                    row, column = cells.rows[c], cells.columns[c]
                    floor = cells.row_starts[row]
                else:
                    floor, row, column = 0, 0, 0
                col = column
            best, best_end, prev_idx = None, start, -1
            for k in range(i, j):
                idx = ids[k]
                if idx == prev_idx:
                    continue
                prev_idx = idx
                e = self.entries[idx]
                if best is not None and best_score >= 1.0 and e.priority < best_priority:
                    break
                if e.matcher is not None:
                    m, mend = None, e.matcher.end(text, start)
                    if mend < 0:
                        continue
                else:
                    m = e.match(text, start)
                    if m is None:
                        continue
                    mend = m.end()
                header = relation[idx * width + column] if table and column < width else 0
                mstart = start  # a match at `start` starts there
                f = _evaluate(e, m, mstart, mend, text, floor, header, row, col)
                if f is not None and (best is None or _outranks(f, e.priority, best, best_priority)):
                    best, best_end, best_priority, best_score = f, mend, e.priority, _get(f, F_SCORE)
            i = j
            if best is not None:
                if not table:
                    best_start = _get(best, F_START)
                    line += _count_nl(text, counted, best_start)
                    counted = best_start
                    _set(best, F_RECORD, line)
                found.append(best)
                pos = max(best_end, start + 1)
            else:
                pos = start + 1
        return found


cdef class _Candidates:
    """A scanner's candidates (starts, pattern indices) as C arrays; lists (the `re` scanner's) are
    copied into typed arrays once."""

    cdef array.array start_array, id_array
    cdef const long long *starts
    cdef const long long *ids
    cdef Py_ssize_t n

    def __cinit__(self, starts, ids):
        self.start_array = starts if isinstance(starts, array.array) else _array.array("q", starts)
        self.id_array = ids if isinstance(ids, array.array) else _array.array("q", ids)
        if len(self.start_array) != len(self.id_array):
            raise ValueError("one pattern index per start")
        self.starts = _longlongs(self.start_array)
        self.ids = _longlongs(self.id_array)
        self.n = len(self.start_array)


cdef class _Cells:
    """A layout.TableLayout's arrays as C pointers (the layout object keeps them alive)."""

    cdef object layout
    cdef const long long *starts
    cdef const long long *rows
    cdef const long long *columns
    cdef const long long *row_starts
    cdef Py_ssize_t n

    def __cinit__(self, object layout):
        self.layout = layout
        self.starts = _longlongs(layout.starts)
        self.rows = _longlongs(layout.rows)
        self.columns = _longlongs(layout.columns)
        self.row_starts = _longlongs(layout.row_starts)
        self.n = len(layout.starts)


cdef const long long *_longlongs(array.array a) except NULL:
    if a.ob_descr.typecode != b"q":
        raise TypeError("a layout array is not of typecode 'q'")
    return a.data.as_longlongs if len(a) else &_NO_CELLS


cdef long long _NO_CELLS = 0


def table_layout(object table_rows):
    """layout.table_layout in C: the same arrays, built without a Python object per cell."""
    cdef Py_ssize_t n_rows = len(table_rows), n_cells = 0, r, c, k = 0, offset = 0, row_start
    cdef object row
    cdef str line
    cdef list lines = []
    for row in table_rows:
        n_cells += len(row)
    cdef array.array starts = array.clone(_Q, n_cells, False), rows = array.clone(_Q, n_cells, False)
    cdef array.array columns = array.clone(_Q, n_cells, False), row_starts = array.clone(_Q, n_rows, False)
    cdef array.array first_cell = array.clone(_Q, n_rows + 1, False)
    first_cell.data.as_longlongs[0] = 0
    for r in range(n_rows):
        row = table_rows[r]
        row_start = offset
        row_starts.data.as_longlongs[r] = row_start
        for c in range(len(row)):
            starts.data.as_longlongs[k] = offset
            rows.data.as_longlongs[k] = r
            columns.data.as_longlongs[k] = c
            k += 1
            offset += len(<str> row[c]) + 1
        first_cell.data.as_longlongs[r + 1] = k
        line = _CELL_SEP.join(row)
        if u"\n" in line:
            line = line.replace(u"\n", u" ")
        lines.append(line)
        offset = row_start + len(line) + 1
    return TableLayout(u"\n".join(lines), starts, rows, columns, row_starts, first_cell)


cdef Py_ssize_t _count_nl(str text, Py_ssize_t lo, Py_ssize_t hi) noexcept:
    """text.count("\n", lo, hi), a loop typed per string kind (which the C compiler vectorises)."""
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    if kind == 1:
        return _count_nl_in(<const unsigned char *> data, lo, hi)
    if kind == 2:
        return _count_nl_in(<const unsigned short *> data, lo, hi)
    return _count_nl_in(<const Py_UCS4 *> data, lo, hi)


def count_newlines(str text, Py_ssize_t lo, Py_ssize_t hi):
    """text.count("\n", lo, hi) for 0 <= lo <= hi <= len(text), by the loop the C compiler
    vectorises (str.count's stops to compare with a maximum count)."""
    if not 0 <= lo <= hi <= len(text):
        raise IndexError("count_newlines: lo and hi must satisfy 0 <= lo <= hi <= len(text)")
    return _count_nl(text, lo, hi)


cdef Py_ssize_t _count_nl_in(const _Char *chars, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i, n = 0
    for i in range(lo, hi):
        n += chars[i] == 10
    return n


include "_reach.pxi"
include "_utf8.pxi"


cdef class HitCollector:
    """Hyperscan's match callback: collects (byte start, pattern index) with no Python frame, then
    converts byte starts to character starts in one pass over the UTF-8. A pattern with a
    backends.StartReach gets the starts its reach allows before the end (`_reach.pxi`)."""

    cdef list hits
    cdef bytes data
    cdef const unsigned char *buf
    cdef list consumes
    cdef Reach *reaches

    def __cinit__(self):
        self.reaches = NULL

    def __init__(self, bytes data, list consumes, list reaches):
        cdef Py_ssize_t i
        if len(reaches) != len(consumes):
            raise ValueError("one reach per pattern")
        self.hits = []
        self.data = data
        self.buf = data
        self.consumes = consumes
        self.reaches = <Reach *> malloc(max(1, len(reaches)) * sizeof(Reach))
        if self.reaches == NULL:
            raise MemoryError()
        for i in range(len(reaches)):
            _set_reach(&self.reaches[i], reaches[i])

    def __dealloc__(self):
        free(self.reaches)

    def __call__(self, unsigned int pattern_id, unsigned long long start, unsigned long long end,
                 unsigned int flags, object context):
        cdef unsigned char lead
        cdef unsigned long long starts[REACH_MAX_STARTS]
        cdef int i, n
        if self.reaches[pattern_id].longest:
            n = _reach_starts(&self.reaches[pattern_id], self.buf, end, starts)
            for i in range(n):
                self.hits.append((<long long> starts[i] << 20) | pattern_id)
            return
        if self.consumes[pattern_id]:  # the match may begin with the boundary character: skip it
            if start == 0:
                self.hits.append((0 << 20) | pattern_id)
            lead = self.buf[start]
            start += 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        self.hits.append((<long long> start << 20) | pattern_id)

    def candidates(self, Py_ssize_t extra=-1):
        """(starts, pattern indices) sorted, without repeats, starts in characters; with `extra` >= 0
        split as _native.Database.candidates splits them."""
        cdef list hits = self.hits
        cdef Py_ssize_t i, n = len(hits)
        cdef long long *items = <long long *> malloc(max(1, n) * sizeof(long long))
        if items == NULL:
            raise MemoryError()
        try:
            hits.sort()
            for i in range(n):
                items[i] = hits[i]
            return _candidate_lists(items, n, self.buf, extra)
        finally:
            free(items)


cdef inline bint _han(Py_UCS4 ch) noexcept:
    cdef unsigned int c = <unsigned int> ch
    return (0x3400 <= c <= 0x4DBF) or (0x4E00 <= c <= 0x9FFF)


cdef inline bint _han_or_dot(Py_UCS4 ch) noexcept:
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
    """One line's findings at a time, taken as runs of equal `record` (text findings come in line
    order; when they do not, they are regrouped first, in the order the reference meets the lines).
    Windows and Han spans are C pairs, sorted as the reference sorts its tuples."""
    cdef list out = [], flat = findings
    cdef Py_ssize_t n = len(text), n_f, i = 0, j, lo, hi, s, e, end, run, k, n_windows, n_spans, a, line
    cdef Py_ssize_t *windows = NULL
    cdef Py_ssize_t *spans = NULL
    cdef _NameCheck name_check = _name_check(is_name)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef object f
    if not _records_ascending(findings):
        by_line = {}
        for f in findings:
            by_line.setdefault(_get(f, F_RECORD), []).append(f)
        flat = [f for on_line in by_line.values() for f in on_line]
    n_f = len(flat)
    windows = <Py_ssize_t *> malloc(max(1, 2 * n_f) * sizeof(Py_ssize_t))
    spans = <Py_ssize_t *> malloc(max(1, 2 * n_f) * sizeof(Py_ssize_t))
    if windows == NULL or spans == NULL:
        free(windows)
        free(spans)
        raise MemoryError()
    try:
        while i < n_f:
            line = _get(flat[i], F_RECORD)
            j = i + 1
            while j < n_f and _get(flat[j], F_RECORD) == line:
                j += 1
            n_windows = n_spans = 0
            for a in range(i, j):
                f = flat[a]
                s, e = _get(f, F_START), _get(f, F_END)
                if _get(f, F_ENTITY_TYPE) in direct and not _get(f, F_MASKED):
                    windows[2 * n_windows], windows[2 * n_windows + 1] = s - window, e + window
                    n_windows += 1
                if not _ascii_span(text, s, e):  # only Han findings (names, addresses) can overlap a token
                    spans[2 * n_spans], spans[2 * n_spans + 1] = s, e
                    n_spans += 1
            if n_windows:
                s = _get(flat[i], F_START)
                lo = _rfind_nl(text, 0, s) + 1
                hi = PyUnicode_FindChar(text, u"\n", s, n, 1)
                if hi < 0:
                    hi = n
                _sort_pairs(spans, n_spans)
                n_windows = _merge_windows(windows, n_windows, lo, hi)
                k = 0  # tokens come in text order and findings do not overlap: one pointer, not a scan
                for a in range(n_windows):
                    s, end = windows[2 * a], windows[2 * a + 1]
                    if kind == 1:  # no Han character: no token
                        continue
                    if kind == 2:
                        k = _window_names(<const unsigned short *> data, text, s, end, spans, n_spans, k,
                                          name_check, is_name, line, out)
                    else:
                        k = _window_names(<const Py_UCS4 *> data, text, s, end, spans, n_spans, k,
                                          name_check, is_name, line, out)
            i = j
    finally:
        free(windows)
        free(spans)
    return out


cdef Py_ssize_t _window_names(const _Char *chars, str text, Py_ssize_t s, Py_ssize_t end, const Py_ssize_t *spans,
                              Py_ssize_t n_spans, Py_ssize_t k, _NameCheck name_check, object is_name,
                              Py_ssize_t line, list out) except -1:
    """The companion names of one window [s, end) of `text` (whose characters `chars` are), appended
    to `out`; `k` walks the line's Han finding spans and is returned for the next window."""
    cdef Py_ssize_t run
    while s < end:
        if not _han(chars[s]) or (s > 0 and _han_or_dot(chars[s - 1])):
            s += 1
            continue
        run = s
        while run < end and _han(chars[run]):
            run += 1
        # the token is the whole run when it has 2-4 characters and no '·' follows it
        if 2 <= run - s <= 4 and not (run < end and chars[run] == 0xB7):
            while k < n_spans and spans[2 * k + 1] <= s:
                k += 1
            if not (k < n_spans and spans[2 * k] < run) and (
                name_check.check_span(text, s, run) if name_check is not None else is_name(text[s:run])
            ) > 0:
                out.append(_finding("CN_NAME", text[s:run], s, run, 0.6, False, False, 0, line, None, False))
        s = run if run > s else s + 1
    return k


cdef int _compare_pairs(const void *x, const void *y) noexcept nogil:
    cdef const Py_ssize_t *p = <const Py_ssize_t *> x
    cdef const Py_ssize_t *q = <const Py_ssize_t *> y
    if p[0] != q[0]:
        return -1 if p[0] < q[0] else 1
    if p[1] != q[1]:
        return -1 if p[1] < q[1] else 1
    return 0


cdef void _sort_pairs(Py_ssize_t *pairs, Py_ssize_t n) noexcept nogil:
    """Sorts (a, b) pairs as tuples sort, when they are not in order already (the usual case)."""
    cdef Py_ssize_t i
    for i in range(1, n):
        if _compare_pairs(&pairs[2 * i - 2], &pairs[2 * i]) > 0:
            qsort(pairs, n, 2 * sizeof(Py_ssize_t), _compare_pairs)
            return


cdef Py_ssize_t _merge_windows(Py_ssize_t *windows, Py_ssize_t n, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """evidence._windows in place over (anchor start - window, anchor end + window) pairs: clipped to
    the line, sorted by start, overlapping ones merged; returns how many are left."""
    cdef Py_ssize_t i, kept = 0, start, end
    _sort_pairs(windows, n)  # by start (then end): merging gives what a stable sort by start gives
    for i in range(n):
        start, end = max(lo, windows[2 * i]), min(hi, windows[2 * i + 1])
        if kept and start <= windows[2 * kept - 1]:
            windows[2 * kept - 1] = max(windows[2 * kept - 1], end)
        else:
            windows[2 * kept], windows[2 * kept + 1] = start, end
            kept += 1
    return kept


def _start_of(f):
    return f.start


cdef bint _by_start(list items):
    """Are the items' starts ascending (as sorted(items, key=start) would leave them)?"""
    cdef Py_ssize_t i, previous = -1, start
    for i in range(len(items)):
        start = _get(items[i], F_START)
        if start < previous:
            return False
        previous = start
    return True


cdef bint _ascii_span(str text, Py_ssize_t lo, Py_ssize_t hi):
    """text[lo:hi].isascii()."""
    cdef Py_ssize_t i
    if PyUnicode_KIND(text) == 1 and (<str> text).isascii():
        return True
    for i in range(max(lo, 0), min(hi, len(text))):
        if _at(text, i) >= 128:
            return False
    return True


# ---- the categoriser's paragraphs ----------------------------------------------------------------

def paragraph(str text, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t line, list long_run, Py_ssize_t limit):
    """categorise._paragraph with PARAGRAPH_LINES as `limit`: the same walk, each line found by
    PyUnicode_FindChar and tested for white space in place, without a slice or a strip per line."""
    cdef Py_ssize_t n = len(text), first = line, start = lo, prev, last, end, nxt
    cdef Py_ssize_t run_lo = long_run[0], run_hi = long_run[1]
    if run_lo <= lo < run_hi:
        return None
    while start > 0:
        if run_lo < start - 1 <= run_hi:  # the line above is the stretch's last
            if not _blank(text, lo, hi):
                long_run[1] = hi
            return None
        prev = _rfind_nl(text, 0, start - 1) + 1
        if _blank(text, prev, start - 1):
            break
        first, start = first - 1, prev
        if line - first >= limit:
            if not _blank(text, lo, hi):
                long_run[:] = [start, hi]
            return None
    last, end = line, hi
    while end < n:
        nxt = PyUnicode_FindChar(text, u'\n', end + 1, n, 1)
        if nxt < 0:
            nxt = n
        if _blank(text, end + 1, nxt):
            break
        last, end = last + 1, nxt
        if last - first >= limit:
            if not _blank(text, lo, hi):
                long_run[:] = [start, end]
            return None
    return (start, end), first, last


def merge_by_start(list first, list second):
    """sorted(first + second, key=start) for two lists already in that order (stable: `first`'s
    items before `second`'s at the same start)."""
    cdef list out = []
    cdef Py_ssize_t i = 0, j = 0, n = len(first), m = len(second)
    if not (_by_start(first) and _by_start(second)):
        return sorted(first + second, key=_start_of)
    while i < n and j < m:
        if <Py_ssize_t> _get(second[j], F_START) < <Py_ssize_t> _get(first[i], F_START):
            out.append(second[j])
            j += 1
        else:
            out.append(first[i])
            i += 1
    out.extend(first[i:])
    out.extend(second[j:])
    return out


# ---- whole cells under a name or address header -------------------------------------------------

cdef inline double _checked(_NameCheck name_check, object validate, str value) except -1:
    return name_check.check(value) if name_check is not None else validate(value)


def found_rows(list findings, frozenset types):
    """columns.found_rows: (type, column) -> the rows of the table findings of `types` (a table's
    findings come row by row: the set of the previous finding's type and column is tried first)."""
    cdef dict out = {}
    cdef object f, etype, column, last_type = None, last_column = None
    cdef set rows = None
    for f in findings:
        column = _get(f, F_COLUMN)
        if column is None:
            continue
        etype = _get(f, F_ENTITY_TYPE)
        if etype not in types:
            continue
        if rows is None or etype is not last_type or column != last_column:
            rows = out.get((etype, column))
            if rows is None:
                rows = out[(etype, column)] = set()
            last_type, last_column = etype, column
        rows.add(_get(f, F_RECORD))
    return out


def column_cells(object d, object validate, object rows, Py_ssize_t column, array.array cell_starts,
                 array.array first_cell, object done_rows, bint confirmed, list out):
    """engine._cell_findings over one column: evidence.cell_finding of the cell in `column` of each
    row not in `done_rows`, appended to `out` (the fold is this module's)."""
    cdef str entity = d.entity, cell, folded, value, normalised
    cdef object normalise = d.normalise, lead, row
    cdef int normaliser = _NORMALISERS.get(d.normaliser, N_PYTHON)
    cdef _NameCheck name_check = validate if isinstance(validate, _NameCheck) else None
    cdef Py_ssize_t r, start, length
    for r in range(len(rows)):
        row = rows[r]
        if column >= len(row) or r in done_rows:
            continue
        cell = row[column]
        folded = fold(cell)
        value = folded.strip()
        if not value:
            continue
        start = <Py_ssize_t> (cell_starts.data.as_longlongs[first_cell.data.as_longlongs[r] + column]
                              + len(folded) - len(folded.lstrip()))
        if u"*" in value:
            if len(value) <= MASKED_CELL_MAX:
                out.append(_finding(entity, value, start, start + len(value), 0.8, True, False, 0, r, column,
                                    confirmed))
            continue
        normalised = _normalised(normaliser, normalise, value)
        if _checked(name_check, validate, normalised) > 0:
            length = len(value)
        else:
            lead = _LEADING_TOKEN.match(value)
            if lead is None:
                continue
            normalised = _normalised(normaliser, normalise, lead.group(1))
            if _checked(name_check, validate, normalised) <= 0:
                continue
            length = lead.end(1)
        out.append(_finding(entity, normalised, start, start + length, 0.9, False, False, 0, r, column,
                            confirmed))
