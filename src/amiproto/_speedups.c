/* Optional C versions of the core's hot paths.

   Each function does exactly what its pure-Python twin does (named below), and
   tests/test_speedups.py compares the two on generated and recorded input. The
   package works without this module; it is built when a C compiler is there.

   Every scan is bounded by the length of the buffer it was given, and every
   index is checked against it before a byte is read.

   Two functions build the core's Python objects directly: take_events makes
   events, and the getters message_getters makes parse a message's Headers. They write the classes'
   __slots__ through the offsets of their member descriptors, read once and
   checked against the class of every object written. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>
#define HAVE_SSE2_SCAN 1
#endif

static const char EVENT_PREFIX[] = "Event:";
static const char RESPONSE_PREFIX[] = "Response:";
#define EVENT_LEN 6
#define RESPONSE_LEN 9

/* Free-threaded builds: what another thread may change at the same time is
   read and written inside a critical section on its owner. */
#ifdef Py_GIL_DISABLED
#define BEGIN_LOCKED(object) Py_BEGIN_CRITICAL_SECTION(object)
#define END_LOCKED() Py_END_CRITICAL_SECTION()
#else
#define BEGIN_LOCKED(object) {
#define END_LOCKED() }
#endif

#define SLOT(object, offset) ((PyObject **)((char *)(object) + (offset)))

/* Replace the value of a slot (the old one may be unset: NULL). */
static void
set_slot(PyObject *object, Py_ssize_t offset, PyObject *value)
{
    PyObject **slot = SLOT(object, offset);
    PyObject *old = *slot;
    *slot = Py_NewRef(value);
    Py_XDECREF(old);
}

/* The offset of the __slots__ entry ``name`` of ``type`` (or of a base). */
static int
slot_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL) {
        return -1;
    }
    int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type)
             && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX
             && PyType_IsSubtype(type, PyDescr_TYPE(descr));
    if (ok) {
        *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    Py_DECREF(descr);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, name);
        return -1;
    }
    return 0;
}

/* The first byte ``c`` in [p, end), or NULL. AMI lines are short (20 to 30
   bytes), where the set-up of a call to memchr costs more than the search: with
   SSE2, 16 bytes are compared at a time, inline. */
static inline const char *
find_byte(const char *p, const char *end, char c)
{
#ifdef HAVE_SSE2_SCAN
    const __m128i wanted = _mm_set1_epi8(c);
    for (; end - p >= 16; p += 16) {
        int found = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), wanted));
        if (found) {
            return p + __builtin_ctz((unsigned)found);
        }
    }
    for (; p < end; p++) {
        if (*p == c) {
            return p;
        }
    }
    return NULL;
#else
    return memchr(p, c, (size_t)(end - p));
#endif
}

static inline int
lowest_bit(uint32_t mask)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(mask);
#else
    int bit = 0;
    while (!(mask & 1u)) {
        mask >>= 1;
        bit++;
    }
    return bit;
#endif
}

/* Every LF of data[from:size], in order, 16 bytes at a time: a scan that hands out
   the next LF without starting over for each line. */
typedef struct {
    const char *data;
    Py_ssize_t size;
    Py_ssize_t block; /* where the 16 bytes that ``mask`` covers start */
    uint32_t mask;    /* their LFs not handed out yet, one bit each */
} LineEnds;

static inline uint32_t
line_ends_mask(const char *data, Py_ssize_t size, Py_ssize_t block)
{
    Py_ssize_t width = size - block;
#ifdef HAVE_SSE2_SCAN
    if (width >= 16) {
        return (uint32_t)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(data + block)), _mm_set1_epi8('\n')));
    }
#endif
    uint32_t mask = 0;
    if (width > 16) {
        width = 16;
    }
    for (Py_ssize_t i = 0; i < width; i++) {
        if (data[block + i] == '\n') {
            mask |= 1u << i;
        }
    }
    return mask;
}

static inline void
line_ends_start(LineEnds *ends, const char *data, Py_ssize_t size, Py_ssize_t from)
{
    ends->data = data;
    ends->size = size;
    ends->block = from;
    ends->mask = from < size ? line_ends_mask(data, size, from) : 0;
}

/* The position of the next LF, or -1. */
static inline Py_ssize_t
line_ends_next(LineEnds *ends)
{
    while (ends->mask == 0) {
        ends->block += 16;
        if (ends->block >= ends->size) {
            return -1;
        }
        ends->mask = line_ends_mask(ends->data, ends->size, ends->block);
    }
    int bit = lowest_bit(ends->mask);
    ends->mask &= ends->mask - 1;
    return ends->block + bit;
}

static int
is_space(char c)
{
    /* What \s matches in a bytes regex. */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* True when the n bytes at p are ``word`` (lower case) in any ASCII case. */
static inline int
same_folded(const char *p, const char *word, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != word[i]) {
            return 0;
        }
    }
    return 1;
}

/* True when the rest of a "Response:" first line is "Follows" in any case,
   with any white space around it (the framer's _FOLLOWS_FIRST_LINE). */
static int
is_follows(const char *p, const char *end)
{
    static const char word[] = "follows";
    while (p < end && is_space(*p)) {
        p++;
    }
    if (end - p < 7 || !same_folded(p, word, 7)) {
        return 0;
    }
    p += 7;
    while (p < end && is_space(*p)) {
        p++;
    }
    return p == end;
}

/* True when the bytes at p (n of them) can still be, or already are, the start
   of a line that begins with prefix (length prefix_len). */
static int
may_start_with(const char *p, Py_ssize_t n, const char *prefix, Py_ssize_t prefix_len)
{
    /* By hand: it runs for every line, and most differ at the first byte, where a
       call to memcmp would cost more than the comparison. */
    Py_ssize_t length = n < prefix_len ? n : prefix_len;
    for (Py_ssize_t i = 0; i < length; i++) {
        if (p[i] != prefix[i]) {
            return 0;
        }
    }
    return 1;
}

static PyObject *
decode(const char *start, Py_ssize_t length)
{
    return PyUnicode_DecodeUTF8(start, length, "surrogateescape");
}

/* Bytes decoded as a message in ``encoding`` (a str) is: surrogateescape, as everywhere. */
static PyObject *
decode_in(PyObject *encoding, const char *start, Py_ssize_t length)
{
    if (PyUnicode_CompareWithASCIIString(encoding, "utf-8") == 0) {
        return decode(start, length);
    }
    const char *name = PyUnicode_AsUTF8(encoding);
    return name == NULL ? NULL : PyUnicode_Decode(start, length, name, "surrogateescape");
}

/* Where the value of a message's first ActionID header lies, as Message.action_id's
   regular expressions find it: the first line that starts with "ActionID" in any
   case and a colon; one space after the colon is dropped, and one CR at the
   line's end. Returns 0 when there is none. */
static int
find_action_id(const char *data, Py_ssize_t size, const char **value_start, const char **value_end)
{
    static const char word[] = "actionid";
    LineEnds ends;
    line_ends_start(&ends, data, size, 0);
    Py_ssize_t start = 0;
    for (;;) {
        Py_ssize_t lf = line_ends_next(&ends);
        Py_ssize_t end = lf < 0 ? size : lf;
        const char *line = data + start;
        if (end - start > 8 && line[8] == ':' && same_folded(line, word, 8)) {
            const char *value = line + 9;
            const char *stop = data + end;
            if (value < stop && *value == ' ') {
                value++;
            }
            if (value < stop && stop[-1] == '\r') {
                stop--;
            }
            *value_start = value;
            *value_end = stop;
            return 1;
        }
        if (lf < 0) {
            return 0;
        }
        start = lf + 1;
    }
}

/* A hash of a few bytes for the fixed tables below; what it finds is compared
   byte for byte, so its quality decides only how often entries evict each other. */
static inline uint64_t
load64(const char *p)
{
    uint64_t word;
    memcpy(&word, p, 8);
    return word;
}

static inline uint64_t
load32(const char *p)
{
    uint32_t word;
    memcpy(&word, p, 4);
    return word;
}

static inline uint64_t
mix(uint64_t hash, uint64_t word)
{
    hash = (hash ^ word) * 0x9E3779B97F4A7C15ULL;
    return hash ^ (hash >> 29);
}

/* Loads of constant size only (the last word overlaps the one before it), so
   that no call to memcpy is made for the tail. Each word is multiplied apart and
   only rotated into the sum, so that the multiplications of a long input (the
   names of a message's headers, 200 bytes) overlap instead of waiting in turn. */
static inline uint64_t
hash_bytes(const char *p, Py_ssize_t n)
{
    uint64_t hash = 0x243F6A8885A308D3ULL ^ (uint64_t)n;
    if (n >= 8) {
        for (Py_ssize_t i = 0; i + 8 < n; i += 8) {
            hash = ((hash << 23) | (hash >> 41)) ^ (load64(p + i) * 0x9E3779B97F4A7C15ULL);
        }
        return mix(hash, load64(p + n - 8));
    }
    if (n >= 4) {
        return mix(hash, load32(p) << 32 | load32(p + n - 4));
    }
    if (n > 0) {
        return mix(hash, (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[n / 2] << 8
                             | (unsigned char)p[n - 1]);
    }
    return hash;
}

/* a[:n] == b[:n], for the short strings of the fixed tables, with the same loads. */
static inline int
same_bytes(const char *a, const char *b, Py_ssize_t n)
{
    if (n < 8) {
        return memcmp(a, b, (size_t)n) == 0;
    }
    for (Py_ssize_t i = 0; i + 8 < n; i += 8) {
        if (load64(a + i) != load64(b + i)) {
            return 0;
        }
    }
    return load64(a + n - 8) == load64(b + n - 8);
}

/* -- module state ---------------------------------------------------------- */

/* Where an event class keeps the slots take_events writes. */
typedef struct {
    PyTypeObject *type;
    Py_ssize_t raw, headers, name, encoding, truncated;
} EventSlots;

/* Header values read often (call,all; Up; 0) are decoded once: a fixed table of
   short ASCII str by a hash of their bytes, where a newcomer takes the place of
   whoever held its entry. At most VALUES_CACHED strings of at most
   VALUE_CACHED_SIZE characters: about 180 KB. */
#define VALUES_CACHED 2048
#define VALUE_CACHED_SIZE 40

/* take_events' memory of what names (bytes -> (name, class)) gave, for the names
   dict it was last called with (a connection's): a fixed table by a hash of the
   bytes, so a known event name costs no bytes object and no dict lookup. It holds
   that one dict, and is emptied when another comes. */
#define NAMES_CACHED 256

typedef struct {
    uint64_t hash;
    PyObject *key;   /* the rest of the "Event:" line */
    PyObject *known; /* (name, class) */
} NameEntry;

typedef struct {
    PyTypeObject *values_type;
    PyTypeObject *values_iter_type;
    PyTypeObject *pairs_type;
    PyTypeObject *parser_type;
    PyTypeObject *assigner_type;
    PyTypeObject *maker_type;
    PyTypeObject *dispatcher_type;
    PyTypeObject *shape_reader_type;
    PyTypeObject *answerer_type;
    PyTypeObject *sender_type;
    EventSlots event; /* of the event class take_events was given last */
    PyObject *values_cached[VALUES_CACHED];
    PyObject *names_owner;
    NameEntry names_cached[NAMES_CACHED];
} ModuleState;

static ModuleState *
module_state(PyObject *module)
{
    return (ModuleState *)PyModule_GetState(module);
}

/* -- framing --------------------------------------------------------------- */

/* Why take_events stopped. */
enum { STOP_NEED_DATA = 0, STOP_GENERAL = 1, STOP_RESPONSE = 2 };

/* Frame the plain message at the start of ``message`` (``left`` bytes): return
   its length, up to and including its closing LF CRLF, and set *is_event and
   *first_lf (where its first line ends); or return -1 and set *stop, with
   *resume and *first_lf telling where to continue the scan when more bytes
   come (see take_events). */
static Py_ssize_t
frame_plain(const char *message, Py_ssize_t left, Py_ssize_t limit, Py_ssize_t *resume,
            Py_ssize_t *first_lf, int *is_event, int *stop)
{
    const char *own;
    Py_ssize_t own_len;
    if (may_start_with(message, left, EVENT_PREFIX, EVENT_LEN)) {
        *is_event = 1;
        own = EVENT_PREFIX;
        own_len = EVENT_LEN;
    }
    else if (may_start_with(message, left, RESPONSE_PREFIX, RESPONSE_LEN)) {
        *is_event = 0;
        own = RESPONSE_PREFIX;
        own_len = RESPONSE_LEN;
    }
    else {
        *stop = STOP_GENERAL;
        *resume = 0;
        *first_lf = -1;
        return -1;
    }
    Py_ssize_t end = -1; /* just past LF CRLF */
    Py_ssize_t scan = *resume > own_len ? *resume : own_len;
    *stop = STOP_NEED_DATA;
    LineEnds ends;
    line_ends_start(&ends, message, left, scan);
    for (;;) {
        Py_ssize_t at = line_ends_next(&ends);
        if (at < 0) {
            scan = scan > left ? scan : left;
            break;
        }
        const char *lf = message + at;
        if (at + 1 > limit) {
            *stop = STOP_GENERAL; /* over the size limit: the general path reports it */
            break;
        }
        if (*first_lf < 0) {
            *first_lf = at;
            if (!*is_event && is_follows(message + RESPONSE_LEN, lf)) {
                *stop = STOP_GENERAL;
                break;
            }
        }
        scan = at; /* if the bytes after this LF have not come yet, resume here */
        Py_ssize_t after = left - (at + 1);
        if (after == 0) {
            break;
        }
        char next = lf[1];
        if (next == '\n') {
            *stop = STOP_GENERAL; /* a bare LF LF: the general path decides */
            break;
        }
        if (next == '\r') {
            if (after == 1) {
                break;
            }
            if (lf[2] == '\n') {
                end = at + 3;
                break;
            }
        }
        /* A line that starts with the first header's name again is a second
           message glued on; the general path cuts it there. */
        if (may_start_with(lf + 1, after, own, own_len)) {
            if (after < own_len) {
                break; /* cannot tell yet */
            }
            *stop = STOP_GENERAL;
            break;
        }
        scan = at + 1;
    }
    if (end >= 0 && end <= limit) {
        return end;
    }
    if (end > limit || (*stop == STOP_NEED_DATA && left > limit)) {
        *stop = STOP_GENERAL;
    }
    if (*stop == STOP_GENERAL) {
        *resume = 0;
        *first_lf = -1;
    }
    else {
        *resume = scan < left ? scan : left;
    }
    return -1;
}

/* The slot offsets of ``type`` (Event), read once and kept in the module state. */
static int
event_slots(PyObject *module, PyTypeObject *type, EventSlots *slots)
{
    ModuleState *state = module_state(module);
    int result = 0;
    BEGIN_LOCKED(module);
    if (state->event.type != type) {
        EventSlots found = {type, 0, 0, 0, 0, 0};
        if (slot_offset(type, "raw", &found.raw) < 0 || slot_offset(type, "_headers", &found.headers) < 0
            || slot_offset(type, "_name", &found.name) < 0 || slot_offset(type, "_encoding", &found.encoding) < 0
            || slot_offset(type, "_truncated", &found.truncated) < 0) {
            result = -1;
        }
        else {
            PyTypeObject *old = state->event.type;
            state->event = found;
            Py_INCREF(type);
            Py_XDECREF(old);
        }
    }
    if (result == 0) {
        *slots = state->event;
    }
    END_LOCKED();
    return result;
}

static void
forget_names(ModuleState *state)
{
    for (int i = 0; i < NAMES_CACHED; i++) {
        Py_CLEAR(state->names_cached[i].key);
        Py_CLEAR(state->names_cached[i].known);
    }
    Py_CLEAR(state->names_owner);
}

/* What ``names`` (or on a miss ``learn``) gives for the rest of an "Event:" line:
   (name, class), checked; a new reference. */
static PyObject *
event_kind(ModuleState *state, const EventSlots *slots, PyObject *names, PyObject *learn, const char *rest,
           Py_ssize_t length)
{
#ifndef Py_GIL_DISABLED
    if (state->names_owner != names) {
        forget_names(state);
        state->names_owner = Py_NewRef(names);
    }
    uint64_t hash = hash_bytes(rest, length);
    NameEntry *entry = &state->names_cached[hash % NAMES_CACHED];
    if (entry->key != NULL && entry->hash == hash && PyBytes_GET_SIZE(entry->key) == length
        && same_bytes(PyBytes_AS_STRING(entry->key), rest, length)) {
        return Py_NewRef(entry->known);
    }
#endif
    PyObject *key = PyBytes_FromStringAndSize(rest, length);
    if (key == NULL) {
        return NULL;
    }
    PyObject *known = PyDict_GetItemWithError(names, key); /* borrowed */
    if (known != NULL) {
        Py_INCREF(known);
    }
    else if (!PyErr_Occurred()) {
        known = PyObject_CallOneArg(learn, key);
    }
    if (known != NULL
        && (!PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(known, 0))
            || !PyType_Check(PyTuple_GET_ITEM(known, 1))
            || !PyType_IsSubtype((PyTypeObject *)PyTuple_GET_ITEM(known, 1), slots->type))) {
        PyErr_SetString(PyExc_TypeError, "an event name must map to (str, Event subclass)");
        Py_CLEAR(known);
    }
#ifndef Py_GIL_DISABLED
    /* learn ran Python code, which may have called take_events with other names. */
    if (known != NULL && state->names_owner == names) {
        PyObject *old_key = entry->key;
        PyObject *old_known = entry->known;
        entry->hash = hash;
        entry->key = Py_NewRef(key);
        entry->known = Py_NewRef(known);
        Py_XDECREF(old_key);
        Py_XDECREF(old_known);
    }
#endif
    Py_DECREF(key);
    return known;
}

/* One event, as Connection._on_blocks builds it: its class's __new__ without
   __init__, then its slots. It cannot be part of a reference cycle (its slots
   hold bytes, str, bool, None and, once parsed, its Headers), so it is hidden
   from the cyclic GC, which would otherwise traverse every queued event at each
   collection; unless its class adds slots or a __dict__, where a program may
   put anything. ``known`` is (name, class), as event_kind checked it. */
static PyObject *
new_event(const EventSlots *slots, PyObject *known, PyObject *raw, PyObject *encoding)
{
    PyTypeObject *cls = (PyTypeObject *)PyTuple_GET_ITEM(known, 1);
    PyObject *event = cls->tp_alloc(cls, 0);
    if (event == NULL) {
        return NULL;
    }
    set_slot(event, slots->raw, raw);
    set_slot(event, slots->headers, Py_None);
    set_slot(event, slots->name, PyTuple_GET_ITEM(known, 0));
    set_slot(event, slots->encoding, encoding);
    set_slot(event, slots->truncated, Py_False);
    if (cls->tp_basicsize == slots->type->tp_basicsize && cls->tp_dictoffset == 0
        && PyObject_GC_IsTracked(event)) {
        PyObject_GC_UnTrack(event);
    }
    return event;
}

/* -- actions ---------------------------------------------------------------- */

/* A header value the wire can carry as it is: no CR, LF or NUL. */
static int
is_plain_value(PyObject *value)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(value);
    int kind = PyUnicode_KIND(value);
    const void *data = PyUnicode_DATA(value);
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '\r' || c == '\n' || c == '\0') {
            return 0;
        }
    }
    return 1;
}

/* header_pairs(items, good_names) -> tuple of (str, str), or None

   The C twin of the fast path of Action.__init__ (_actions._plain_headers):
   each item an exact tuple of two, its name an exact str in ``good_names``,
   its value an exact str free of CR, LF and NUL, a bool (as "true" or
   "false"), or an exact int or float (as str() writes it). None as soon as
   one is not: the general path then checks everything and says what is
   wrong. */
static PyObject *
header_pairs(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyAnySet_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "header_pairs() takes the items and a set of names");
        return NULL;
    }
    PyObject *items = args[0];
    PyObject *fast;
    if (PyTuple_CheckExact(items)) {
        fast = Py_NewRef(items);
    }
    else if (PyList_CheckExact(items)) {
        /* A copy: making pairs allocates, which may run code (the cyclic GC's
           finalizers and callbacks, or another thread) that changes the caller's list
           under the loop. The copy's own allocation may too, so its items are taken
           after it, with no allocation between; a list that changed meanwhile goes to
           the general path. */
        Py_ssize_t length = PyList_GET_SIZE(items);
        fast = PyTuple_New(length);
        if (fast == NULL) {
            return NULL;
        }
        int changed = 0;
        BEGIN_LOCKED(items);
        if (PyList_GET_SIZE(items) != length) {
            changed = 1;
        }
        else {
            for (Py_ssize_t i = 0; i < length; i++) {
                PyTuple_SET_ITEM(fast, i, Py_NewRef(PyList_GET_ITEM(items, i)));
            }
        }
        END_LOCKED();
        if (changed) {
            Py_DECREF(fast);
            Py_RETURN_NONE;
        }
    }
    else {
        Py_RETURN_NONE;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(fast);
    PyObject *headers = PyTuple_New(count);
    if (headers == NULL) {
        Py_DECREF(fast);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyTuple_GET_ITEM(fast, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            goto general;
        }
        PyObject *name = PyTuple_GET_ITEM(pair, 0);
        PyObject *value = PyTuple_GET_ITEM(pair, 1);
        if (!PyUnicode_CheckExact(name)) {
            goto general;
        }
        int known = PySet_Contains(args[1], name);
        if (known < 0) {
            goto error;
        }
        if (!known) {
            goto general;
        }
        PyObject *text;
        if (PyUnicode_CheckExact(value)) {
            if (!is_plain_value(value)) {
                goto general;
            }
            PyTuple_SET_ITEM(headers, i, Py_NewRef(pair));
            continue;
        }
        if (PyBool_Check(value)) {
            text = PyUnicode_FromString(value == Py_True ? "true" : "false");
        }
        else if (PyLong_CheckExact(value) || PyFloat_CheckExact(value)) {
            text = PyObject_Str(value);
        }
        else {
            goto general;
        }
        if (text == NULL) {
            goto error;
        }
        PyObject *made = PyTuple_Pack(2, name, text);
        Py_DECREF(text);
        if (made == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(headers, i, made);
    }
    Py_DECREF(fast);
    return headers;

general:
    Py_DECREF(fast);
    Py_DECREF(headers);
    Py_RETURN_NONE;
error:
    Py_DECREF(fast);
    Py_DECREF(headers);
    return NULL;
}

/* Append the UTF-8 of ``text`` at ``*at``; its size first, when ``*at`` is NULL. */
static int
put_utf8(PyObject *text, char **at, Py_ssize_t *size)
{
    if (!PyUnicode_CheckExact(text)) {
        return 0;
    }
    Py_ssize_t length;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &length);
    if (utf8 == NULL) {
        PyErr_Clear(); /* a lone surrogate: Python encodes it with surrogateescape */
        return 0;
    }
    if (*at == NULL) {
        if (length > PY_SSIZE_T_MAX - 16 - *size) {
            return 0; /* Python says it cannot */
        }
        *size += length;
    }
    else {
        memcpy(*at, utf8, (size_t)length);
        *at += length;
    }
    return 1;
}

static void
put(const char *text, Py_ssize_t length, char **at, Py_ssize_t *size)
{
    if (*at == NULL) {
        *size += length;
    }
    else {
        memcpy(*at, text, (size_t)length);
        *at += length;
    }
}

/* serialize(name, headers, encoding) -> bytes, or None

   The C twin of Action.serialize for UTF-8 (_actions._python_serialize): the
   action's bytes, "Action: name", then "Header: value" lines, then a blank
   line. None for another encoding and for text that UTF-8 cannot encode
   strictly (a lone surrogate): Python encodes those, and reports what fails. */
static PyObject *
serialize_action(PyObject *name, PyObject *headers, PyObject *encoding)
{
    /* Anything but exact str and tuples (an Action changed from outside) goes to Python. */
    if (!PyUnicode_CheckExact(name) || !PyTuple_CheckExact(headers) || !PyUnicode_Check(encoding)
        || PyUnicode_CompareWithASCIIString(encoding, "utf-8") != 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(headers);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyTuple_GET_ITEM(headers, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            Py_RETURN_NONE;
        }
    }
    PyObject *data = NULL;
    char *at = NULL;
    Py_ssize_t size = 0;
    /* Twice: the size, then the bytes. */
    for (int pass = 0; pass < 2; pass++) {
        put("Action: ", 8, &at, &size);
        if (!put_utf8(name, &at, &size)) {
            goto python;
        }
        put("\r\n", 2, &at, &size);
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *pair = PyTuple_GET_ITEM(headers, i);
            if (!put_utf8(PyTuple_GET_ITEM(pair, 0), &at, &size)) {
                goto python;
            }
            put(": ", 2, &at, &size);
            if (!put_utf8(PyTuple_GET_ITEM(pair, 1), &at, &size)) {
                goto python;
            }
            put("\r\n", 2, &at, &size);
        }
        put("\r\n", 2, &at, &size);
        if (pass == 0) {
            data = PyBytes_FromStringAndSize(NULL, size);
            if (data == NULL) {
                return NULL;
            }
            at = PyBytes_AS_STRING(data);
        }
    }
    return data;

python:
    Py_XDECREF(data);
    Py_RETURN_NONE;
}

static PyObject *
serialize(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "serialize() takes a name, a tuple of headers and an encoding");
        return NULL;
    }
    return serialize_action(args[0], args[1], args[2]);
}

/* -- answers completed in C ------------------------------------------------- */

/* What take_events needs to complete an ordinary action itself when its answer
   comes, as Connection._on_response would: the connection's dict of pending
   actions (ActionID -> _Pending), the classes it makes, and where those keep
   their slots, read once. Made by answerer(), one per connection. */
#define COMPLETED_FIELDS 10

typedef struct {
    PyObject_HEAD
    PyObject *pending; /* dict: ActionID -> _Pending */
    PyTypeObject *response_type;
    PyTypeObject *completed_type;
    PyTypeObject *pending_type;
    PyObject *success; /* the statuses, as Response.status reads them */
    PyObject *error;
    PyObject *nothing; /* () */
    Py_ssize_t response_raw, response_headers, response_encoding, response_truncated, response_orphan,
        response_body, response_status;
    Py_ssize_t completed[COMPLETED_FIELDS]; /* in the order of COMPLETED_NAMES */
    Py_ssize_t pending_action, pending_response, pending_simple;
} Answerer;

static const char *const COMPLETED_NAMES[COMPLETED_FIELDS] = {
    "action_id", "action", "response", "events", "complete", "timed_out", "warnings", "is_list", "too_many_events",
    "result",
};

static const char SUCCESS_LINE[] = "Response: Success\r\n";
static const char ERROR_LINE[] = "Response: Error\r\n";
#define SUCCESS_LINE_LEN 19
#define ERROR_LINE_LEN 17

/* ``word`` (lower case) in [p, p + n) in any case. */
static int
contains_folded(const char *p, Py_ssize_t n, const char *word, Py_ssize_t word_len)
{
    for (Py_ssize_t i = 0; i + word_len <= n; i++) {
        if (same_folded(p + i, word, word_len)) {
            return 1;
        }
    }
    return 0;
}

/* The response that is ``raw`` (``message``, ``size`` bytes), answered here when
   it completes an ordinary action at once: appends the Response and its
   ActionCompleted to ``items`` and returns 1. Returns 0, having changed nothing,
   for every other answer, which Connection._on_response takes instead: a status
   other than Success or Error (Goodbye moves the state machine), a response that
   may open a list (an EventList header, or a message that says a list "will
   follow"), no ActionID, an ActionID nobody waits for, and an action that is not
   simple (a login step, a keepalive, a list action, one that waits for a result
   event). -1 on error. */
static int
answer(Answerer *answerer, const char *message, Py_ssize_t size, PyObject *raw, PyObject *encoding,
       PyObject *items, PyObject *answered)
{
    PyObject *status;
    if (size >= SUCCESS_LINE_LEN && memcmp(message, SUCCESS_LINE, SUCCESS_LINE_LEN) == 0) {
        status = answerer->success;
    }
    else if (size >= ERROR_LINE_LEN && memcmp(message, ERROR_LINE, ERROR_LINE_LEN) == 0) {
        status = answerer->error;
    }
    else {
        return 0;
    }
    if (contains_folded(message, size, "eventlist", 9) || contains_folded(message, size, "will follow", 11)) {
        return 0;
    }
    const char *start, *end;
    if (!find_action_id(message, size, &start, &end)) {
        return 0;
    }
    PyObject *action_id = decode_in(encoding, start, end - start);
    if (action_id == NULL) {
        return -1;
    }
    PyObject *pending = PyDict_GetItemWithError(answerer->pending, action_id); /* borrowed */
    if (pending == NULL || !Py_IS_TYPE(pending, answerer->pending_type)
        || *SLOT(pending, answerer->pending_simple) != Py_True
        || *SLOT(pending, answerer->pending_response) != Py_None
        || *SLOT(pending, answerer->pending_action) == NULL) {
        Py_DECREF(action_id);
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_INCREF(pending); /* what follows allocates, and may run a finalizer */
    PyObject *action = Py_NewRef(*SLOT(pending, answerer->pending_action));
    PyObject *response = answerer->response_type->tp_alloc(answerer->response_type, 0);
    PyObject *completed = answerer->completed_type->tp_alloc(answerer->completed_type, 0);
    PyObject *done_pair = PyTuple_Pack(2, action_id, pending);
    int result = -1;
    if (response == NULL || completed == NULL || done_pair == NULL) {
        goto done;
    }
    set_slot(response, answerer->response_raw, raw);
    set_slot(response, answerer->response_headers, Py_None);
    set_slot(response, answerer->response_encoding, encoding);
    set_slot(response, answerer->response_truncated, Py_False);
    set_slot(response, answerer->response_orphan, Py_False);
    set_slot(response, answerer->response_body, Py_None);
    set_slot(response, answerer->response_status, status);
    PyObject *values[COMPLETED_FIELDS] = {
        action_id, action,          response, answerer->nothing, Py_True, Py_False, answerer->nothing,
        Py_False,  Py_False,        Py_None,
    };
    for (int i = 0; i < COMPLETED_FIELDS; i++) {
        set_slot(completed, answerer->completed[i], values[i]);
    }
    /* The action leaves the pending dict only once the whole run is made (see
       settle()); until then its response marks it answered, as _on_response does,
       so that a second answer in the run is not taken for it. If anything fails
       (out of memory), nothing has changed. */
    Py_ssize_t before = PyList_GET_SIZE(items);
    Py_ssize_t answered_before = PyList_GET_SIZE(answered);
    if (PyList_Append(items, response) < 0 || PyList_Append(items, completed) < 0
        || PyList_Append(answered, done_pair) < 0) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        (void)PyList_SetSlice(items, before, PyList_GET_SIZE(items), NULL);
        (void)PyList_SetSlice(answered, answered_before, PyList_GET_SIZE(answered), NULL);
        PyErr_Restore(type, value, traceback);
        goto done;
    }
    set_slot(pending, answerer->pending_response, response);
    /* As untrack() does for events: a Response holds bytes, str, bool and None, and
       an ActionCompleted (frozen) those, its action and its Response; no cycle can
       pass through them, and a program that keeps answers would otherwise have
       them traversed by every collection. */
    PyObject_GC_UnTrack(response);
    PyObject_GC_UnTrack(completed);
    result = 1;
done:
    Py_DECREF(action_id);
    Py_DECREF(pending);
    Py_DECREF(action);
    Py_XDECREF(response);
    Py_XDECREF(completed);
    Py_XDECREF(done_pair);
    return result;
}

/* The run is handed out: the actions it answered leave the pending dict (each only if
   the dict still holds that same _Pending under its ActionID). */
static void
settle(Answerer *answerer, PyObject *answered)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(answered); i++) {
        PyObject *pair = PyList_GET_ITEM(answered, i);
        PyObject *action_id = PyTuple_GET_ITEM(pair, 0);
        PyObject *held = PyDict_GetItemWithError(answerer->pending, action_id);
        if (held != PyTuple_GET_ITEM(pair, 1) || PyDict_DelItem(answerer->pending, action_id) < 0) {
            PyErr_Clear(); /* gone or replaced meanwhile: nothing of it left to remove */
        }
    }
}

/* The run is given up (an error): the actions it answered wait as before, and their
   answers are read again with the bytes, which were not consumed. */
static void
unsettle(Answerer *answerer, PyObject *answered)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(answered); i++) {
        set_slot(PyTuple_GET_ITEM(PyList_GET_ITEM(answered, i), 1), answerer->pending_response, Py_None);
    }
}

static int
answerer_traverse(PyObject *self, visitproc visit, void *arg)
{
    Answerer *answerer = (Answerer *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(answerer->pending);
    Py_VISIT(answerer->response_type);
    Py_VISIT(answerer->completed_type);
    Py_VISIT(answerer->pending_type);
    return 0;
}

static int
answerer_clear(PyObject *self)
{
    Answerer *answerer = (Answerer *)self;
    Py_CLEAR(answerer->pending);
    Py_CLEAR(answerer->response_type);
    Py_CLEAR(answerer->completed_type);
    Py_CLEAR(answerer->pending_type);
    Py_CLEAR(answerer->success);
    Py_CLEAR(answerer->error);
    Py_CLEAR(answerer->nothing);
    return 0;
}

static void
answerer_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    answerer_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyType_Slot answerer_slots[] = {
    {Py_tp_doc, "What take_events needs to complete ordinary actions as their answers come."},
    {Py_tp_traverse, answerer_traverse},
    {Py_tp_clear, answerer_clear},
    {Py_tp_dealloc, answerer_dealloc},
    {0, NULL},
};

static PyType_Spec answerer_spec = {
    .name = "amiproto._speedups.Answerer",
    .basicsize = sizeof(Answerer),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_HAVE_GC,
    .slots = answerer_slots,
};

/* answerer(pending, response_type, completed_type, pending_type) -> Answerer

   For take_events' last argument: ``pending`` is the connection's dict of
   pending actions; ``response_type`` is Response, ``completed_type``
   ActionCompleted and ``pending_type`` the connection's _Pending, each checked
   to have the slots written or read here. A _Pending's ``simple`` is True when
   its action completes with its response and nothing else happens then (see
   answer()). */
static PyObject *
answerer(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyDict_CheckExact(args[0]) || !PyType_Check(args[1]) || !PyType_Check(args[2])
        || !PyType_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "answerer() takes a dict and three classes");
        return NULL;
    }
    PyTypeObject *response_type = (PyTypeObject *)args[1];
    PyTypeObject *completed_type = (PyTypeObject *)args[2];
    PyTypeObject *pending_type = (PyTypeObject *)args[3];
    Answerer found;
    if (slot_offset(response_type, "raw", &found.response_raw) < 0
        || slot_offset(response_type, "_headers", &found.response_headers) < 0
        || slot_offset(response_type, "_encoding", &found.response_encoding) < 0
        || slot_offset(response_type, "_truncated", &found.response_truncated) < 0
        || slot_offset(response_type, "orphan", &found.response_orphan) < 0
        || slot_offset(response_type, "_body", &found.response_body) < 0
        || slot_offset(response_type, "_status", &found.response_status) < 0
        || slot_offset(pending_type, "action", &found.pending_action) < 0
        || slot_offset(pending_type, "response", &found.pending_response) < 0
        || slot_offset(pending_type, "simple", &found.pending_simple) < 0) {
        return NULL;
    }
    for (int i = 0; i < COMPLETED_FIELDS; i++) {
        if (slot_offset(completed_type, COMPLETED_NAMES[i], &found.completed[i]) < 0) {
            return NULL;
        }
    }
    ModuleState *state = module_state(module);
    Answerer *made = PyObject_GC_New(Answerer, state->answerer_type);
    if (made == NULL) {
        return NULL;
    }
    memcpy((char *)made + sizeof(PyObject), (char *)&found + sizeof(PyObject), sizeof(Answerer) - sizeof(PyObject));
    made->pending = Py_NewRef(args[0]);
    made->response_type = (PyTypeObject *)Py_NewRef(response_type);
    made->completed_type = (PyTypeObject *)Py_NewRef(completed_type);
    made->pending_type = (PyTypeObject *)Py_NewRef(pending_type);
    made->success = PyUnicode_InternFromString("success");
    made->error = PyUnicode_InternFromString("error");
    made->nothing = PyTuple_New(0);
    if (made->success == NULL || made->error == NULL || made->nothing == NULL) {
        Py_DECREF(made);
        return NULL;
    }
    PyObject_GC_Track(made);
    return (PyObject *)made;
}

/* -- ordinary actions sent in C --------------------------------------------- */

/* What Connection.send needs to send an ordinary action in one call, as
   Connection._send would: the connection's pending actions and deadlines, the
   classes it reads and makes and where they keep their slots (read once), and
   the connection's attributes it reads and writes, by name. Made by sender(),
   one per connection. */
#define PENDING_FIELDS 10

enum { ATTR_STATE, ATTR_ID_PREFIX, ATTR_NEXT_ID, ATTR_NOW, ATTR_IDLE_SINCE, ATTR_LAST_ACTION_ID, ATTR_ENCODING, SENDER_ATTRS };

static const char *const SENDER_ATTR_NAMES[SENDER_ATTRS] = {
    "_state", "_id_prefix", "_next_id", "_now", "_idle_since", "last_action_id", "encoding",
};

/* In the order of the values sender_call() gives them. */
static const char *const PENDING_NAMES[PENDING_FIELDS] = {
    "action", "deadline", "role", "credentials", "response", "is_list", "events", "result_event", "result", "simple",
};

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *pending;   /* dict: ActionID -> _Pending */
    PyObject *in_order;  /* deque of (deadline, tie-breaker, ActionID, _Pending), deadlines in order */
    PyObject *append_in_order;
    PyObject *deadlines; /* list, a heap of the other such entries */
    PyObject *order;     /* iterator: the tie-breakers */
    PyObject *heappush;
    PyObject *ready;     /* the state in which an action is sent without changing it */
    PyObject *plain;     /* the role of an ordinary action */
    PyTypeObject *action_type;
    PyTypeObject *pending_type;
    PyObject *action_id_name; /* "ActionID" */
    PyObject *one;
    PyObject *attrs[SENDER_ATTRS];
    Py_ssize_t action_name, action_headers, action_list_complete_event;
    Py_ssize_t pending_fields[PENDING_FIELDS];
} Sender;

/* An action name that moves the state machine (Login, Challenge, Logoff in any
   case), or one that is not plain ASCII text: Python sends those. */
static int
ordinary_name(PyObject *name)
{
    if (!PyUnicode_CheckExact(name) || !PyUnicode_IS_ASCII(name)) {
        return 0;
    }
    const char *text = (const char *)PyUnicode_DATA(name);
    Py_ssize_t length = PyUnicode_GET_LENGTH(name);
    return !((length == 5 && same_folded(text, "login", 5)) || (length == 9 && same_folded(text, "challenge", 9))
             || (length == 6 && same_folded(text, "logoff", 6)));
}

/* The value of the action's first ActionID header (borrowed), NULL when it has
   none; sets *plain to 0 when a header is not an exact (str, str) pair with an
   ASCII name, which Python then reads. */
static PyObject *
given_action_id(PyObject *headers, int *plain)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(headers); i++) {
        PyObject *pair = PyTuple_GET_ITEM(headers, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyUnicode_CheckExact(PyTuple_GET_ITEM(pair, 0))
            || !PyUnicode_IS_ASCII(PyTuple_GET_ITEM(pair, 0)) || !PyUnicode_CheckExact(PyTuple_GET_ITEM(pair, 1))) {
            *plain = 0;
            return NULL;
        }
        PyObject *header = PyTuple_GET_ITEM(pair, 0);
        if (PyUnicode_GET_LENGTH(header) == 8 && same_folded((const char *)PyUnicode_DATA(header), "actionid", 8)) {
            return PyTuple_GET_ITEM(pair, 1);
        }
    }
    return NULL;
}

/* ``action`` with an ActionID header first, as Action._with_checked_id makes it. */
static PyObject *
with_action_id(Sender *sender, PyObject *action, PyObject *action_id)
{
    PyObject *headers = *SLOT(action, sender->action_headers);
    Py_ssize_t count = PyTuple_GET_SIZE(headers);
    PyObject *numbered = PyTuple_New(count + 1);
    if (numbered == NULL) {
        return NULL;
    }
    PyObject *first = PyTuple_Pack(2, sender->action_id_name, action_id);
    if (first == NULL) {
        Py_DECREF(numbered);
        return NULL;
    }
    PyTuple_SET_ITEM(numbered, 0, first);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyTuple_SET_ITEM(numbered, i + 1, Py_NewRef(PyTuple_GET_ITEM(headers, i)));
    }
    PyObject *copy = sender->action_type->tp_alloc(sender->action_type, 0);
    if (copy == NULL) {
        Py_DECREF(numbered);
        return NULL;
    }
    set_slot(copy, sender->action_name, *SLOT(action, sender->action_name));
    set_slot(copy, sender->action_list_complete_event, *SLOT(action, sender->action_list_complete_event));
    set_slot(copy, sender->action_headers, numbered);
    Py_DECREF(numbered);
    /* Out of the cyclic GC's sight, as the Response and ActionCompleted answer()
       makes: pairs of str, and an action that holds only those, can be in no
       cycle. A pending action would otherwise be traversed by every collection
       while it waits, and promoted with its whole burst. */
    PyObject_GC_UnTrack(first);
    PyObject_GC_UnTrack(numbered);
    PyObject_GC_UnTrack(copy);
    return copy;
}

/* A deadline's entry to the FIFO when it comes in order (no earlier than the
   last one there), else to the heap, as Connection._send does. */
static int
push_deadline(Sender *sender, PyObject *entry)
{
    Py_ssize_t count = PyObject_Size(sender->in_order);
    if (count < 0) {
        return -1;
    }
    int in_order = 1;
    if (count > 0) {
        PyObject *last = PySequence_GetItem(sender->in_order, count - 1);
        if (last == NULL) {
            return -1;
        }
        if (!PyTuple_CheckExact(last) || PyTuple_GET_SIZE(last) < 1) {
            Py_DECREF(last);
            PyErr_SetString(PyExc_TypeError, "a deadline's entry is a tuple");
            return -1;
        }
        in_order = PyObject_RichCompareBool(PyTuple_GET_ITEM(entry, 0), PyTuple_GET_ITEM(last, 0), Py_GE);
        Py_DECREF(last);
        if (in_order < 0) {
            return -1;
        }
    }
    PyObject *pushed;
    if (in_order) {
        pushed = PyObject_CallOneArg(sender->append_in_order, entry);
    }
    else {
        PyObject *push_args[2] = {sender->deadlines, entry};
        pushed = PyObject_Vectorcall(sender->heappush, push_args, 2, NULL);
    }
    if (pushed == NULL) {
        return -1;
    }
    Py_DECREF(pushed);
    return 0;
}

/* send(connection, action, timeout, now) -> bytes, or None

   Connection._send for an ordinary action (not Login, Challenge or Logoff) of
   exactly class Action sent while the connection is READY, in UTF-8: registers
   it as pending (with its deadline when ``timeout`` is given), numbers it when
   it has no ActionID, and returns its bytes. None, having changed nothing, for
   anything else, and where Python would raise (a duplicate ActionID, a timeout
   without a clock): Connection._send takes it then. */
static PyObject *
sender_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Sender *sender = (Sender *)self;
    if (PyVectorcall_NARGS(nargsf) != 4 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError, "a sender takes a connection, an action, a timeout and the time");
        return NULL;
    }
    PyObject *conn = args[0], *action = args[1], *timeout = args[2], *now = args[3];
    if (!Py_IS_TYPE(action, sender->action_type)) {
        Py_RETURN_NONE;
    }
    PyObject *name = *SLOT(action, sender->action_name);
    PyObject *headers = *SLOT(action, sender->action_headers);
    PyObject *list_complete_event = *SLOT(action, sender->action_list_complete_event);
    if (name == NULL || headers == NULL || list_complete_event == NULL || !PyTuple_CheckExact(headers)
        || !ordinary_name(name)) {
        Py_RETURN_NONE;
    }
    int plain = 1;
    PyObject *given = given_action_id(headers, &plain); /* borrowed */
    if (!plain) {
        Py_RETURN_NONE;
    }
    PyObject *result = NULL, *state = NULL, *clock = NULL, *deadline = NULL, *action_id = NULL, *next_id = NULL,
             *following = NULL, *sent = NULL, *encoding = NULL, *data = NULL, *pending = NULL, *events = NULL,
             *order = NULL, *entry = NULL, *idle_since = NULL, *prefix = NULL;
    state = PyObject_GetAttr(conn, sender->attrs[ATTR_STATE]);
    if (state == NULL) {
        goto done;
    }
    if (state != sender->ready) {
        goto python;
    }
    /* Everything is read and made before anything changes: Python takes what
       is declined here, and an error leaves the connection as it was. */
    if (timeout != Py_None) {
        clock = now != Py_None ? Py_NewRef(now) : PyObject_GetAttr(conn, sender->attrs[ATTR_NOW]);
        if (clock == NULL) {
            goto done;
        }
        if (clock == Py_None) {
            goto python; /* Python says a timeout needs the time */
        }
        deadline = PyNumber_Add(clock, timeout);
        if (deadline == NULL) {
            goto done;
        }
    }
    if (given != NULL) {
        int waiting = PyDict_Contains(sender->pending, given);
        if (waiting < 0) {
            goto done;
        }
        if (waiting) {
            goto python; /* Python says it is already waiting */
        }
        action_id = Py_NewRef(given);
        sent = Py_NewRef(action);
    }
    else {
        prefix = PyObject_GetAttr(conn, sender->attrs[ATTR_ID_PREFIX]);
        next_id = prefix == NULL ? NULL : PyObject_GetAttr(conn, sender->attrs[ATTR_NEXT_ID]);
        if (next_id == NULL) {
            goto done;
        }
        if (!PyUnicode_CheckExact(prefix) || !PyLong_CheckExact(next_id)) {
            goto python;
        }
        action_id = PyUnicode_FromFormat("%U-%S", prefix, next_id);
        following = action_id == NULL ? NULL : PyNumber_Add(next_id, sender->one);
        sent = following == NULL ? NULL : with_action_id(sender, action, action_id);
        if (sent == NULL) {
            goto done;
        }
    }
    encoding = PyObject_GetAttr(conn, sender->attrs[ATTR_ENCODING]);
    if (encoding == NULL) {
        goto done;
    }
    data = serialize_action(name, *SLOT(sent, sender->action_headers), encoding);
    if (data == NULL) {
        goto done;
    }
    if (data == Py_None) {
        goto python; /* another encoding, or text that Python encodes or refuses */
    }
    pending = sender->pending_type->tp_alloc(sender->pending_type, 0);
    events = PyList_New(0);
    if (pending == NULL || events == NULL) {
        goto done;
    }
    PyObject *values[PENDING_FIELDS] = {
        sent,    deadline != NULL ? deadline : Py_None, sender->plain, Py_None, Py_None, Py_False, events, Py_None,
        Py_None, list_complete_event == Py_None ? Py_True : Py_False,
    };
    for (int i = 0; i < PENDING_FIELDS; i++) {
        set_slot(pending, sender->pending_fields[i], values[i]);
    }
    /* Nothing it holds or will hold (its action, answer, events, result) refers
       back to it: no cycle can pass through it (see with_action_id()). Nor through
       its events list, which holds only this action's events. Left tracked, the list
       and the deadline entry below outlived young collections with every action in
       flight and were promoted, bringing the next full collection closer. */
    PyObject_GC_UnTrack(pending);
    PyObject_GC_UnTrack(events);
    if (deadline != NULL) {
        order = PyIter_Next(sender->order);
        if (order == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_RuntimeError, "the deadlines' tie-breakers ran out");
            }
            goto done;
        }
        entry = PyTuple_Pack(4, deadline, order, action_id, pending);
        if (entry == NULL) {
            goto done;
        }
        PyObject_GC_UnTrack(entry); /* a float, an int, a str and the untracked pending */
    }
    if (now != Py_None) {
        idle_since = PyObject_GetAttr(conn, sender->attrs[ATTR_IDLE_SINCE]);
        if (idle_since == NULL || PyObject_SetAttr(conn, sender->attrs[ATTR_NOW], now) < 0
            || (idle_since == Py_None && PyObject_SetAttr(conn, sender->attrs[ATTR_IDLE_SINCE], now) < 0)) {
            goto done;
        }
    }
    if ((following != NULL && PyObject_SetAttr(conn, sender->attrs[ATTR_NEXT_ID], following) < 0)
        || PyObject_SetAttr(conn, sender->attrs[ATTR_LAST_ACTION_ID], action_id) < 0
        || PyDict_SetItem(sender->pending, action_id, pending) < 0) {
        goto done;
    }
    if (entry != NULL && push_deadline(sender, entry) < 0) {
        goto done;
    }
    result = Py_NewRef(data);
    goto done;
python:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(state);
    Py_XDECREF(clock);
    Py_XDECREF(deadline);
    Py_XDECREF(action_id);
    Py_XDECREF(prefix);
    Py_XDECREF(next_id);
    Py_XDECREF(following);
    Py_XDECREF(sent);
    Py_XDECREF(encoding);
    Py_XDECREF(data);
    Py_XDECREF(pending);
    Py_XDECREF(events);
    Py_XDECREF(order);
    Py_XDECREF(entry);
    Py_XDECREF(idle_since);
    return result;
}

static int
sender_traverse(PyObject *self, visitproc visit, void *arg)
{
    Sender *sender = (Sender *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(sender->pending);
    Py_VISIT(sender->in_order);
    Py_VISIT(sender->append_in_order);
    Py_VISIT(sender->deadlines);
    Py_VISIT(sender->order);
    Py_VISIT(sender->heappush);
    Py_VISIT(sender->ready);
    Py_VISIT(sender->plain);
    Py_VISIT(sender->action_type);
    Py_VISIT(sender->pending_type);
    return 0;
}

static int
sender_clear(PyObject *self)
{
    Sender *sender = (Sender *)self;
    Py_CLEAR(sender->pending);
    Py_CLEAR(sender->in_order);
    Py_CLEAR(sender->append_in_order);
    Py_CLEAR(sender->deadlines);
    Py_CLEAR(sender->order);
    Py_CLEAR(sender->heappush);
    Py_CLEAR(sender->ready);
    Py_CLEAR(sender->plain);
    Py_CLEAR(sender->action_type);
    Py_CLEAR(sender->pending_type);
    Py_CLEAR(sender->action_id_name);
    Py_CLEAR(sender->one);
    for (int i = 0; i < SENDER_ATTRS; i++) {
        Py_CLEAR(sender->attrs[i]);
    }
    return 0;
}

static void
sender_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    sender_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyMemberDef sender_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Sender, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot sender_slots[] = {
    {Py_tp_doc, "Sends ordinary actions of a connection in one call."},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, sender_members},
    {Py_tp_traverse, sender_traverse},
    {Py_tp_clear, sender_clear},
    {Py_tp_dealloc, sender_dealloc},
    {0, NULL},
};

static PyType_Spec sender_spec = {
    .name = "amiproto._speedups.Sender",
    .basicsize = sizeof(Sender),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_HAVE_GC
             | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = sender_slots,
};

/* sender(pending, in_order, deadlines, order, heappush, action_type, pending_type, ready, plain) -> send

   For Connection.send: ``pending`` is the connection's dict of pending
   actions, ``in_order`` its deque of action deadlines that came in order and
   ``deadlines`` its heap of the others, ``order`` its iterator of their
   tie-breakers and ``heappush`` what pushes on the heap; ``action_type`` is
   Action and ``pending_type`` the connection's _Pending, each checked to have
   the slots read or written here; ``ready`` is the state in which sending an
   action leaves the state as it is, and ``plain`` the role of an ordinary
   action. */
static PyObject *
sender(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9 || !PyDict_CheckExact(args[0]) || !PySequence_Check(args[1]) || !PyList_CheckExact(args[2])
        || !PyIter_Check(args[3]) || !PyCallable_Check(args[4]) || !PyType_Check(args[5]) || !PyType_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "sender() takes a dict, a deque, a list, an iterator, a callable, two classes,"
                                         " a state and a role");
        return NULL;
    }
    PyObject *append_in_order = PyObject_GetAttrString(args[1], "append");
    if (append_in_order == NULL) {
        return NULL;
    }
    PyTypeObject *action_type = (PyTypeObject *)args[5];
    PyTypeObject *pending_type = (PyTypeObject *)args[6];
    Sender found;
    if (slot_offset(action_type, "name", &found.action_name) < 0
        || slot_offset(action_type, "headers", &found.action_headers) < 0
        || slot_offset(action_type, "list_complete_event", &found.action_list_complete_event) < 0) {
        Py_DECREF(append_in_order);
        return NULL;
    }
    for (int i = 0; i < PENDING_FIELDS; i++) {
        if (slot_offset(pending_type, PENDING_NAMES[i], &found.pending_fields[i]) < 0) {
            Py_DECREF(append_in_order);
            return NULL;
        }
    }
    ModuleState *state = module_state(module);
    Sender *made = PyObject_GC_New(Sender, state->sender_type);
    if (made == NULL) {
        Py_DECREF(append_in_order);
        return NULL;
    }
    memcpy((char *)made + sizeof(PyObject), (char *)&found + sizeof(PyObject), sizeof(Sender) - sizeof(PyObject));
    made->vectorcall = sender_call;
    made->pending = Py_NewRef(args[0]);
    made->in_order = Py_NewRef(args[1]);
    made->append_in_order = append_in_order;
    made->deadlines = Py_NewRef(args[2]);
    made->order = Py_NewRef(args[3]);
    made->heappush = Py_NewRef(args[4]);
    made->action_type = (PyTypeObject *)Py_NewRef(action_type);
    made->pending_type = (PyTypeObject *)Py_NewRef(pending_type);
    made->ready = Py_NewRef(args[7]);
    made->plain = Py_NewRef(args[8]);
    made->action_id_name = PyUnicode_InternFromString("ActionID");
    made->one = PyLong_FromLong(1);
    int failed = made->action_id_name == NULL || made->one == NULL;
    for (int i = 0; i < SENDER_ATTRS; i++) {
        made->attrs[i] = PyUnicode_InternFromString(SENDER_ATTR_NAMES[i]);
        failed |= made->attrs[i] == NULL;
    }
    PyObject_GC_Track(made);
    if (failed) {
        Py_DECREF(made);
        return NULL;
    }
    return (PyObject *)made;
}

/* take_events(buffer, max_message_size, resume, first_lf, names, learn, encoding, event_type[, answerer])
       -> (items, response, consumed, stop, resume, first_lf)

   The C twin of the pure-Python fast path, Framer.take_plain_run followed by
   Connection._on_blocks. Takes the complete messages at the front of
   ``buffer`` that the general framer would frame the same way, each with its
   closing LF CRLF: messages that start with "Event:" or with a "Response:"
   line that is not "Follows", end at the first LF CRLF, hold no bare LF LF
   before it and no second line that starts with their own first header's
   name, and fit in max_message_size.

   Each event becomes an object of the class ``names`` gives for the rest of
   its first line (bytes -> (name, class)); on a miss ``learn(rest)`` gives it
   (and may remember it in ``names``). What they gave is remembered in a small
   table for as long as the same ``names`` comes back, so ``names`` must only
   ever grow (as a connection's does). A response stops the run: its bytes come
   back as ``response`` (stop = STOP_RESPONSE), for the caller to handle in
   order after the events; otherwise ``response`` is None. Given an
   ``answerer`` (None: none), a response that completes an ordinary action at
   once does not stop the run: the Response and its ActionCompleted join the
   items, in order (see answer()); for a connection's Pings and the answers of
   most actions, a run is then a whole read.

   It stops at the first message that is not plain (stop = STOP_GENERAL: the
   general path takes it) or not complete yet (STOP_NEED_DATA). Then resume
   and first_lf tell where the scan of that message stopped and where its first
   line ended (-1: not yet), counted from its start; passing them back on the
   next call continues the scan there, so a message that comes in many pieces
   is scanned once. They must come from the previous call on the same message
   (or be 0 and -1): a value out of range is ignored, but one in range is
   trusted, and a stale one would make the scan skip bytes. */
static PyObject *
take_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 && nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "take_events() takes 8 or 9 arguments");
        return NULL;
    }
    ModuleState *state = module_state(module);
    Answerer *answers = NULL;
    if (nargs == 9 && args[8] != Py_None) {
        if (!Py_IS_TYPE(args[8], state->answerer_type)) {
            PyErr_SetString(PyExc_TypeError, "take_events(): the answerer must come from answerer()");
            return NULL;
        }
        answers = (Answerer *)args[8];
    }
    PyObject *names = args[4];
    PyObject *learn = args[5];
    PyObject *encoding = args[6];
    if (!PyDict_Check(names) || !PyType_Check(args[7]) || (answers != NULL && !PyUnicode_Check(encoding))) {
        PyErr_SetString(PyExc_TypeError, "take_events() needs a dict of names, a str encoding and an event class");
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[1]);
    Py_ssize_t resume = PyLong_AsSsize_t(args[2]);
    Py_ssize_t first_lf = PyLong_AsSsize_t(args[3]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    EventSlots slots;
    if (event_slots(module, (PyTypeObject *)args[7], &slots) < 0) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const char *data = (const char *)view.buf;
    const Py_ssize_t size = view.len;
    PyObject *events = PyList_New(0);
    PyObject *response = NULL;
    PyObject *answered = answers == NULL ? NULL : PyList_New(0); /* (ActionID, _Pending) */
    if (events == NULL || (answers != NULL && answered == NULL)) {
        goto error;
    }
    Py_ssize_t start = 0;
    int stop = STOP_NEED_DATA;
    /* Only the first message may continue an earlier scan; check what came back. */
    if (resume < 0 || resume > size || first_lf > resume || (first_lf != -1 && first_lf < EVENT_LEN)) {
        resume = 0;
        first_lf = -1;
    }
    while (start < size) {
        const char *message = data + start;
        int is_event;
        Py_ssize_t end = frame_plain(message, size - start, limit, &resume, &first_lf, &is_event, &stop);
        if (end < 0) {
            break;
        }
        PyObject *raw = PyBytes_FromStringAndSize(message, end);
        if (raw == NULL) {
            goto error;
        }
        start += end;
        if (!is_event) {
            int taken = answers == NULL ? 0 : answer(answers, message, end, raw, encoding, events, answered);
            if (taken != 0) {
                Py_DECREF(raw);
                if (taken < 0) {
                    goto error;
                }
                resume = 0;
                first_lf = -1;
                continue;
            }
            response = raw;
            stop = STOP_RESPONSE;
            resume = 0;
            first_lf = -1;
            break;
        }
        PyObject *known = event_kind(state, &slots, names, learn, message + EVENT_LEN, first_lf - EVENT_LEN);
        resume = 0;
        first_lf = -1;
        PyObject *event = known == NULL ? NULL : new_event(&slots, known, raw, encoding);
        Py_XDECREF(known);
        Py_DECREF(raw);
        if (event == NULL) {
            goto error;
        }
        int failed = PyList_Append(events, event);
        Py_DECREF(event);
        if (failed) {
            goto error;
        }
    }
    PyBuffer_Release(&view);
    if (response == NULL) {
        response = Py_NewRef(Py_None);
    }
    PyObject *run = Py_BuildValue("(NNninn)", events, response, start, stop, resume, first_lf);
    if (answered != NULL) {
        if (run == NULL) {
            unsettle(answers, answered);
        }
        else {
            settle(answers, answered);
        }
        Py_DECREF(answered);
    }
    return run;

error:
    PyBuffer_Release(&view);
    if (answered != NULL) {
        unsettle(answers, answered);
        Py_DECREF(answered);
    }
    Py_XDECREF(events);
    Py_XDECREF(response);
    return NULL;
}

/* -- header values ---------------------------------------------------------- */

/* The values of one message's headers, decoded when read: the message's bytes
   and where each value lies in them. It reads as a list of str does (index,
   slice, iterate, compare), and holds a fraction of the memory the decoded
   values would: 8 bytes a value. It holds only bytes, so it is not tracked by
   the cyclic GC. */
typedef struct {
    PyObject_VAR_HEAD
    PyObject *raw;
    uint32_t spans[1]; /* start and end of each value: 2 * ob_size entries */
} Values;

typedef struct {
    PyObject_HEAD
    Values *values;
    Py_ssize_t index;
} ValuesIter;

/* A value decoded, or the equal str the cache holds. A cached str is ASCII, so its
   characters are the bytes it was decoded from. */
static PyObject *
decode_value(ModuleState *state, const char *start, Py_ssize_t length)
{
#ifdef Py_GIL_DISABLED
    return decode(start, length); /* the table would need a lock */
#else
    if (length == 0 || length > VALUE_CACHED_SIZE) {
        return decode(start, length);
    }
    PyObject **entry = &state->values_cached[hash_bytes(start, length) % VALUES_CACHED];
    PyObject *text = *entry;
    if (text != NULL && PyUnicode_GET_LENGTH(text) == length
        && same_bytes((const char *)PyUnicode_1BYTE_DATA(text), start, length)) {
        return Py_NewRef(text);
    }
    text = decode(start, length);
    if (text != NULL && PyUnicode_IS_ASCII(text)) {
        Py_XSETREF(*entry, Py_NewRef(text));
    }
    return text;
#endif
}

/* Value ``index``, which the caller checked. */
static inline PyObject *
value_at(ModuleState *state, Values *values, Py_ssize_t index)
{
    uint32_t start = values->spans[2 * index];
    uint32_t end = values->spans[2 * index + 1];
    return decode_value(state, PyBytes_AS_STRING(values->raw) + start, (Py_ssize_t)(end - start));
}

static PyObject *
values_item(PyObject *self, Py_ssize_t index)
{
    if (index < 0 || index >= Py_SIZE(self)) {
        PyErr_SetString(PyExc_IndexError, "list index out of range");
        return NULL;
    }
    ModuleState *state = PyType_GetModuleState(Py_TYPE(self));
    return state == NULL ? NULL : value_at(state, (Values *)self, index);
}

static Py_ssize_t
values_length(PyObject *self)
{
    return Py_SIZE(self);
}

static PyObject *
values_list(PyObject *self)
{
    Py_ssize_t count = Py_SIZE(self);
    PyObject *list = PyList_New(count);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = values_item(self, i);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyObject *
values_subscript(PyObject *self, PyObject *key)
{
    if (PyIndex_Check(key)) {
        Py_ssize_t index = PyNumber_AsSsize_t(key, PyExc_IndexError);
        if (index == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (index < 0) {
            index += Py_SIZE(self);
        }
        return values_item(self, index);
    }
    if (PySlice_Check(key)) {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(key, &start, &stop, &step) < 0) {
            return NULL;
        }
        Py_ssize_t count = PySlice_AdjustIndices(Py_SIZE(self), &start, &stop, step);
        PyObject *list = PyList_New(count);
        if (list == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0, at = start; i < count; i++, at += step) {
            PyObject *item = values_item(self, at);
            if (item == NULL) {
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(list, i, item);
        }
        return list;
    }
    PyErr_Format(PyExc_TypeError, "indices must be integers or slices, not %.200s", Py_TYPE(key)->tp_name);
    return NULL;
}

/* Whether value ``i`` of ``a`` and value ``j`` of ``b`` have the same bytes, hence
   (decoded alike) the same text. */
static inline int
same_value_bytes(Values *a, Py_ssize_t i, Values *b, Py_ssize_t j)
{
    uint32_t a_start = a->spans[2 * i], a_end = a->spans[2 * i + 1];
    uint32_t b_start = b->spans[2 * j], b_end = b->spans[2 * j + 1];
    return a_end - a_start == b_end - b_start
           && memcmp(PyBytes_AS_STRING(a->raw) + a_start, PyBytes_AS_STRING(b->raw) + b_start,
                     (size_t)(a_end - a_start))
                  == 0;
}

static PyObject *
values_richcompare(PyObject *self, PyObject *other, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !(PyList_Check(other) || Py_IS_TYPE(other, Py_TYPE(self)))) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (Py_IS_TYPE(other, Py_TYPE(self))) {
        /* Compared by their bytes: no value decoded. */
        int equal = Py_SIZE(self) == Py_SIZE(other);
        for (Py_ssize_t i = 0; equal && i < Py_SIZE(self); i++) {
            equal = same_value_bytes((Values *)self, i, (Values *)other, i);
        }
        return PyBool_FromLong(op == Py_EQ ? equal : !equal);
    }
    PyObject *mine = values_list(self);
    if (mine == NULL) {
        return NULL;
    }
    PyObject *theirs = PyList_Check(other) ? Py_NewRef(other) : values_list(other);
    if (theirs == NULL) {
        Py_DECREF(mine);
        return NULL;
    }
    PyObject *result = PyObject_RichCompare(mine, theirs, op);
    Py_DECREF(mine);
    Py_DECREF(theirs);
    return result;
}

static PyObject *
values_repr(PyObject *self)
{
    PyObject *list = values_list(self);
    if (list == NULL) {
        return NULL;
    }
    PyObject *text = PyObject_Repr(list);
    Py_DECREF(list);
    return text;
}

/* Pickled and copied as the list it reads as. */
static PyObject *
values_reduce(PyObject *self, PyObject *unused)
{
    PyObject *list = values_list(self);
    if (list == NULL) {
        return NULL;
    }
    return Py_BuildValue("(O(N))", (PyObject *)&PyList_Type, list);
}

static PyObject *
values_iter(PyObject *self)
{
    ModuleState *state = PyType_GetModuleState(Py_TYPE(self));
    if (state == NULL) {
        return NULL;
    }
    ValuesIter *iter = PyObject_New(ValuesIter, state->values_iter_type);
    if (iter == NULL) {
        return NULL;
    }
    iter->values = (Values *)Py_NewRef(self);
    iter->index = 0;
    return (PyObject *)iter;
}

static void
values_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_XDECREF(((Values *)self)->raw);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyObject *
values_iter_next(PyObject *self)
{
    ValuesIter *iter = (ValuesIter *)self;
    if (iter->values == NULL) {
        return NULL;
    }
    if (iter->index < Py_SIZE(iter->values)) {
        return values_item((PyObject *)iter->values, iter->index++);
    }
    Py_CLEAR(iter->values);
    return NULL;
}

static void
values_iter_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_XDECREF(((ValuesIter *)self)->values);
    PyObject_Free(self);
    Py_DECREF(type);
}

static PyMethodDef values_methods[] = {
    {"__reduce__", values_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot values_slots[] = {
    {Py_tp_doc, "The values of a message's headers, decoded when read."},
    {Py_tp_dealloc, values_dealloc},
    {Py_tp_repr, values_repr},
    {Py_tp_richcompare, values_richcompare},
    {Py_tp_hash, PyObject_HashNotImplemented},
    {Py_tp_iter, values_iter},
    {Py_tp_methods, values_methods},
    {Py_sq_length, values_length},
    {Py_sq_item, values_item},
    {Py_mp_length, values_length},
    {Py_mp_subscript, values_subscript},
    {0, NULL},
};

static PyType_Spec values_spec = {
    .name = "amiproto._speedups.HeaderValues",
    .basicsize = offsetof(Values, spans),
    .itemsize = 2 * sizeof(uint32_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = values_slots,
};

static PyType_Slot values_iter_slots[] = {
    {Py_tp_dealloc, values_iter_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, values_iter_next},
    {0, NULL},
};

static PyType_Spec values_iter_spec = {
    .name = "amiproto._speedups.HeaderValuesIterator",
    .basicsize = sizeof(ValuesIter),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = values_iter_slots,
};

/* -- iterating over headers ------------------------------------------------------ */

/* The (name, value) pairs of a Headers, as zip(names, values, strict=True) gives
   them, in one object instead of three. When the consumer has let go of the last
   pair, the next one reuses its tuple, as zip does. */
typedef struct {
    PyObject_HEAD
    ModuleState *state;
    PyObject *names;  /* tuple */
    PyObject *values; /* HeaderValues, list, or any sequence */
    Py_ssize_t index;
    Py_ssize_t count;
    PyObject *pair;   /* the last pair handed out, or NULL */
} Pairs;

static PyObject *
iter_headers(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "iter_headers() takes a tuple of names and the values");
        return NULL;
    }
    Py_ssize_t count = PyObject_Length(args[1]);
    if (count < 0) {
        return NULL;
    }
    if (count != PyTuple_GET_SIZE(args[0])) {
        PyErr_SetString(PyExc_ValueError, "iter_headers(): as many names as values, please");
        return NULL;
    }
    ModuleState *state = module_state(module);
    Pairs *pairs = PyObject_GC_New(Pairs, state->pairs_type);
    if (pairs == NULL) {
        return NULL;
    }
    pairs->state = state;
    pairs->names = Py_NewRef(args[0]);
    pairs->values = Py_NewRef(args[1]);
    pairs->index = 0;
    pairs->count = count;
    pairs->pair = NULL;
    PyObject_GC_Track(pairs);
    return (PyObject *)pairs;
}

static PyObject *
pairs_next(PyObject *self)
{
    Pairs *pairs = (Pairs *)self;
    if (pairs->index >= pairs->count) {
        return NULL;
    }
    Py_ssize_t index = pairs->index++;
    PyObject *values = pairs->values;
    PyObject *value;
    if (PyList_CheckExact(values)) {
        if (index >= PyList_GET_SIZE(values)) {
            PyErr_SetString(PyExc_ValueError, "the values changed while iterating");
            return NULL;
        }
        value = Py_NewRef(PyList_GET_ITEM(values, index));
    }
    else if (Py_TYPE(values) == pairs->state->values_type) {
        value = value_at(pairs->state, (Values *)values, index);
    }
    else {
        value = PySequence_GetItem(values, index);
    }
    if (value == NULL) {
        return NULL;
    }
    PyObject *name = PyTuple_GET_ITEM(pairs->names, index);
    PyObject *pair = pairs->pair;
#ifndef Py_GIL_DISABLED
    if (pair != NULL && Py_REFCNT(pair) == 1) {
        PyObject *old_name = PyTuple_GET_ITEM(pair, 0);
        PyObject *old_value = PyTuple_GET_ITEM(pair, 1);
        PyTuple_SET_ITEM(pair, 0, Py_NewRef(name));
        PyTuple_SET_ITEM(pair, 1, value);
        Py_DECREF(old_name);
        Py_DECREF(old_value);
        /* A collection may have untracked it; what it holds now may be a container. */
        if (!PyObject_GC_IsTracked(pair)) {
            PyObject_GC_Track(pair);
        }
        return Py_NewRef(pair);
    }
#endif
    pair = PyTuple_New(2);
    if (pair == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, Py_NewRef(name));
    PyTuple_SET_ITEM(pair, 1, value);
    Py_XSETREF(pairs->pair, Py_NewRef(pair));
    return pair;
}

static int
pairs_traverse(PyObject *self, visitproc visit, void *arg)
{
    Pairs *pairs = (Pairs *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(pairs->names);
    Py_VISIT(pairs->values);
    Py_VISIT(pairs->pair);
    return 0;
}

static int
pairs_clear(PyObject *self)
{
    Pairs *pairs = (Pairs *)self;
    Py_CLEAR(pairs->names);
    Py_CLEAR(pairs->values);
    Py_CLEAR(pairs->pair);
    pairs->count = 0;
    return 0;
}

static void
pairs_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pairs_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot pairs_slots[] = {
    {Py_tp_dealloc, pairs_dealloc},
    {Py_tp_traverse, pairs_traverse},
    {Py_tp_clear, pairs_clear},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, pairs_next},
    {0, NULL},
};

static PyType_Spec pairs_spec = {
    .name = "amiproto._speedups.HeaderPairs",
    .basicsize = sizeof(Pairs),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE
             | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = pairs_slots,
};

/* -- headers ---------------------------------------------------------------- */

/* Shapes by a hash of their names: a fixed table where a newcomer takes the
   place of whoever held its entry, so it is bounded whatever names a server
   invents. The names are compared byte for byte before a shape is used. */
#define SHAPE_CACHE_SIZE 1024

typedef struct {
    uint64_t hash;
    PyObject *key;   /* the names' bytes joined with LF */
    PyObject *shape;
} ShapeEntry;

/* What Message.headers needs: the classes whose slots it reads and writes, the
   Python it calls for what it does not handle, and the shapes it has seen. */
typedef struct {
    PyObject_HEAD
    PyTypeObject *values_type;
    PyTypeObject *message_type;
    PyTypeObject *response_type;
    PyTypeObject *headers_type;
    PyObject *shape_of_key; /* bytes (names joined with LF) -> shape */
    PyObject *no_names;     /* the shape of no headers */
    PyObject *python_parse; /* Message._parse, for what is not UTF-8 */
    PyObject *python_action_id; /* Message.action_id's Python, for what is not bytes */
    Py_ssize_t raw, headers, encoding, unparsed, body; /* message slots */
    Py_ssize_t shape, values;                         /* Headers slots */
    ShapeEntry shapes[SHAPE_CACHE_SIZE];
} Parser;


static PyObject *
cached_shape(Parser *parser, const char *names, Py_ssize_t names_len)
{
    uint64_t hash = hash_bytes(names, names_len);
    ShapeEntry *entry = &parser->shapes[hash % SHAPE_CACHE_SIZE];
    if (entry->key != NULL && entry->hash == hash && PyBytes_GET_SIZE(entry->key) == names_len
        && same_bytes(PyBytes_AS_STRING(entry->key), names, names_len)) {
        return Py_NewRef(entry->shape);
    }
    PyObject *key = PyBytes_FromStringAndSize(names, names_len);
    if (key == NULL) {
        return NULL;
    }
    PyObject *shape = PyObject_CallOneArg(parser->shape_of_key, key);
    if (shape == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *old_key = entry->key;
    PyObject *old_shape = entry->shape;
    entry->hash = hash;
    entry->key = key;
    entry->shape = Py_NewRef(shape);
    Py_XDECREF(old_key);
    Py_XDECREF(old_shape);
    return shape;
}

static PyObject *
shape_of(Parser *parser, const char *names, Py_ssize_t names_len)
{
    PyObject *shape;
    BEGIN_LOCKED((PyObject *)parser);
    shape = cached_shape(parser, names, names_len);
    END_LOCKED();
    return shape;
}

/* Room for the names and spans of a typical message without an allocation. */
#define STACK_NAMES 4096
#define STACK_SPANS 256

/* The Headers of ``raw``[:end], as _headers.split_lines and Headers give them
   for UTF-8: a line ends at LF with one CR before it dropped; the first colon
   separates name and value, and one space after it belongs to the separator;
   a line without a colon is unparsed; empty lines carry nothing. Values stay
   bytes until read (UTF-8 never has an ASCII byte inside a multi-byte
   character, so decoding piece by piece gives what decoding the whole and then
   splitting gives); the names are looked up as bytes among the known shapes.
   Sets *unparsed to a tuple of the lines without a colon. */
static PyObject *
parse(Parser *parser, PyObject *raw, Py_ssize_t end, PyObject **unparsed)
{
    const char *data = PyBytes_AS_STRING(raw);
    char names_stack[STACK_NAMES];
    uint32_t spans_stack[2 * STACK_SPANS];
    char *names = names_stack;
    uint32_t *spans = spans_stack;
    Py_ssize_t spans_room = STACK_SPANS;
    Py_ssize_t names_len = 0;
    Py_ssize_t count = 0;
    PyObject *lines = NULL; /* lines without a colon, when there are any */
    PyObject *headers = NULL;
    *unparsed = NULL;
    /* Names are never longer, all together, than the data they come from. */
    if (end > STACK_NAMES) {
        names = PyMem_Malloc((size_t)end);
        if (names == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    LineEnds ends;
    line_ends_start(&ends, data, end, 0);
    Py_ssize_t pos = 0;
    while (pos < end) {
        const char *line = data + pos;
        Py_ssize_t lf_at = line_ends_next(&ends);
        Py_ssize_t length = (lf_at < 0 ? end : lf_at) - pos;
        pos += length + 1;
        if (lf_at >= 0 && length > 0 && line[length - 1] == '\r') {
            length--;
        }
        if (length == 0) {
            continue;
        }
        const char *colon = find_byte(line, line + length, ':');
        if (colon == NULL) {
            if (lines == NULL && (lines = PyList_New(0)) == NULL) {
                goto done;
            }
            PyObject *text = decode(line, length);
            if (text == NULL || PyList_Append(lines, text) < 0) {
                Py_XDECREF(text);
                goto done;
            }
            Py_DECREF(text);
            continue;
        }
        Py_ssize_t name_len = colon - line;
        if (count > 0) {
            names[names_len++] = '\n'; /* after the previous name, even an empty one */
        }
        memcpy(names + names_len, line, (size_t)name_len);
        names_len += name_len;
        const char *value = colon + 1;
        const char *line_end = line + length;
        if (value < line_end && *value == ' ') {
            value++;
        }
        if (count == spans_room) {
            Py_ssize_t room = 2 * spans_room;
            uint32_t *grown = PyMem_Malloc((size_t)room * 2 * sizeof(uint32_t));
            if (grown == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            memcpy(grown, spans, (size_t)count * 2 * sizeof(uint32_t));
            if (spans != spans_stack) {
                PyMem_Free(spans);
            }
            spans = grown;
            spans_room = room;
        }
        spans[2 * count] = (uint32_t)(value - data);
        spans[2 * count + 1] = (uint32_t)(line_end - data);
        count++;
    }
    PyObject *shape = count ? shape_of(parser, names, names_len) : Py_NewRef(parser->no_names);
    if (shape == NULL) {
        goto done;
    }
    Values *values = PyObject_NewVar(Values, parser->values_type, count);
    if (values == NULL) {
        Py_DECREF(shape);
        goto done;
    }
    values->raw = Py_NewRef(raw);
    memcpy(values->spans, spans, (size_t)count * 2 * sizeof(uint32_t));
    PyTypeObject *type = parser->headers_type;
    headers = type->tp_alloc(type, 0);
    if (headers == NULL) {
        Py_DECREF(shape);
        Py_DECREF(values);
        goto done;
    }
    *SLOT(headers, parser->shape) = shape;
    *SLOT(headers, parser->values) = (PyObject *)values;
    /* It holds a shared shape and the values, neither of which refers back. */
    if (PyObject_GC_IsTracked(headers)) {
        PyObject_GC_UnTrack(headers);
    }
    *unparsed = lines == NULL ? PyTuple_New(0) : PyList_AsTuple(lines);
    if (*unparsed == NULL) {
        Py_CLEAR(headers);
    }

done:
    if (names != names_stack) {
        PyMem_Free(names);
    }
    if (spans != spans_stack) {
        PyMem_Free(spans);
    }
    Py_XDECREF(lines);
    return headers;
}

static PyObject *
headers_of(Parser *parser, PyObject *message)
{
    PyObject *headers = *SLOT(message, parser->headers);
    if (headers != NULL && headers != Py_None) {
        return Py_NewRef(headers);
    }
    PyObject *raw = *SLOT(message, parser->raw);
    PyObject *encoding = *SLOT(message, parser->encoding);
    if (raw == NULL || !PyBytes_CheckExact(raw) || PyBytes_GET_SIZE(raw) > (Py_ssize_t)UINT32_MAX
        || encoding == NULL || !PyUnicode_Check(encoding)
        || PyUnicode_CompareWithASCIIString(encoding, "utf-8") != 0) {
        return PyObject_CallOneArg(parser->python_parse, message);
    }
    Py_ssize_t end = PyBytes_GET_SIZE(raw);
    if (PyObject_TypeCheck(message, parser->response_type)) {
        PyObject *body = *SLOT(message, parser->body);
        if (body != NULL && body != Py_None) {
            Py_ssize_t body_start = PyLong_AsSsize_t(body);
            if (body_start == -1 && PyErr_Occurred()) {
                return NULL;
            }
            if (body_start >= 0 && body_start < end) {
                end = body_start;
            }
        }
    }
    PyObject *unparsed;
    headers = parse(parser, raw, end, &unparsed);
    if (headers == NULL) {
        return NULL;
    }
    set_slot(message, parser->unparsed, unparsed);
    Py_DECREF(unparsed);
    set_slot(message, parser->headers, headers);
    return headers;
}

/* The getter of Message.headers: the parsed headers, parsed now on first use. */
static PyObject *
message_headers(PyObject *self, PyObject *message)
{
    Parser *parser = (Parser *)self;
    if (!PyObject_TypeCheck(message, parser->message_type)) {
        PyErr_Format(PyExc_TypeError, "headers of a %.200s", Py_TYPE(message)->tp_name);
        return NULL;
    }
    PyObject *headers;
    BEGIN_LOCKED(message);
    headers = headers_of(parser, message);
    END_LOCKED();
    return headers;
}

/* The getter of Message.action_id: the first ActionID header, read without a full parse. */
static PyObject *
message_action_id(PyObject *self, PyObject *message)
{
    Parser *parser = (Parser *)self;
    if (!PyObject_TypeCheck(message, parser->message_type)) {
        PyErr_Format(PyExc_TypeError, "action_id of a %.200s", Py_TYPE(message)->tp_name);
        return NULL;
    }
    PyObject *raw = *SLOT(message, parser->raw);
    PyObject *encoding = *SLOT(message, parser->encoding);
    if (raw == NULL || encoding == NULL || !PyUnicode_Check(encoding)) {
        return PyObject_CallOneArg(parser->python_action_id, message);
    }
    Py_buffer view;
    if (PyObject_GetBuffer(raw, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const char *start, *end;
    PyObject *result;
    if (!find_action_id((const char *)view.buf, view.len, &start, &end)) {
        result = Py_NewRef(Py_None);
    }
    else {
        result = decode_in(encoding, start, end - start);
    }
    PyBuffer_Release(&view);
    return result;
}

static int
parser_traverse(PyObject *self, visitproc visit, void *arg)
{
    Parser *parser = (Parser *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(parser->values_type);
    Py_VISIT(parser->message_type);
    Py_VISIT(parser->response_type);
    Py_VISIT(parser->headers_type);
    Py_VISIT(parser->shape_of_key);
    Py_VISIT(parser->no_names);
    Py_VISIT(parser->python_parse);
    Py_VISIT(parser->python_action_id);
    for (int i = 0; i < SHAPE_CACHE_SIZE; i++) {
        Py_VISIT(parser->shapes[i].shape);
    }
    return 0;
}

static int
parser_clear(PyObject *self)
{
    Parser *parser = (Parser *)self;
    Py_CLEAR(parser->values_type);
    Py_CLEAR(parser->message_type);
    Py_CLEAR(parser->response_type);
    Py_CLEAR(parser->headers_type);
    Py_CLEAR(parser->shape_of_key);
    Py_CLEAR(parser->no_names);
    Py_CLEAR(parser->python_parse);
    Py_CLEAR(parser->python_action_id);
    for (int i = 0; i < SHAPE_CACHE_SIZE; i++) {
        Py_CLEAR(parser->shapes[i].key);
        Py_CLEAR(parser->shapes[i].shape);
    }
    return 0;
}

static void
parser_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    parser_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot parser_slots[] = {
    {Py_tp_dealloc, parser_dealloc},
    {Py_tp_traverse, parser_traverse},
    {Py_tp_clear, parser_clear},
    {0, NULL},
};

static PyType_Spec parser_spec = {
    .name = "amiproto._speedups.HeadersParser",
    .basicsize = sizeof(Parser),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE
             | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = parser_slots,
};

static PyMethodDef message_headers_def = {
    "headers", message_headers, METH_O, "A message's headers, parsed on first use.",
};

static PyMethodDef message_action_id_def = {
    "action_id", message_action_id, METH_O, "A message's first ActionID, read without a full parse.",
};

/* message_getters(message_type, response_type, headers_type, shape_of_key, no_names,
                   python_parse, python_action_id) -> (headers, action_id)

   The getters of Message.headers and Message.action_id (for ``property``): the C
   twins of Message._parse with its pure-Python getter, and of the Python
   action_id. The first parses a UTF-8 message in one call into a Headers whose
   values are decoded when read, and hands any other encoding to
   ``python_parse``; the second finds the first ActionID line in the bytes. */
static PyObject *
message_getters(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "message_getters() takes 7 arguments");
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        if (!PyType_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "message_getters() needs the message, response and headers classes");
            return NULL;
        }
    }
    ModuleState *state = module_state(module);
    Parser *parser = PyObject_GC_New(Parser, state->parser_type);
    if (parser == NULL) {
        return NULL;
    }
    parser->values_type = (PyTypeObject *)Py_NewRef(state->values_type);
    parser->message_type = (PyTypeObject *)Py_NewRef(args[0]);
    parser->response_type = (PyTypeObject *)Py_NewRef(args[1]);
    parser->headers_type = (PyTypeObject *)Py_NewRef(args[2]);
    parser->shape_of_key = Py_NewRef(args[3]);
    parser->no_names = Py_NewRef(args[4]);
    parser->python_parse = Py_NewRef(args[5]);
    parser->python_action_id = Py_NewRef(args[6]);
    memset(parser->shapes, 0, sizeof(parser->shapes));
    PyObject_GC_Track(parser);
    PyObject *getters = NULL;
    if (slot_offset(parser->message_type, "raw", &parser->raw) == 0
        && slot_offset(parser->message_type, "_headers", &parser->headers) == 0
        && slot_offset(parser->message_type, "_encoding", &parser->encoding) == 0
        && slot_offset(parser->message_type, "_unparsed", &parser->unparsed) == 0
        && slot_offset(parser->response_type, "_body", &parser->body) == 0
        && slot_offset(parser->headers_type, "_shape", &parser->shape) == 0
        && slot_offset(parser->headers_type, "_values", &parser->values) == 0) {
        if (!PyType_IsSubtype(parser->response_type, parser->message_type)) {
            PyErr_SetString(PyExc_TypeError, "the response class must derive from the message class");
        }
        else {
            getters = Py_BuildValue("(NN)", PyCFunction_NewEx(&message_headers_def, (PyObject *)parser, NULL),
                                    PyCFunction_NewEx(&message_action_id_def, (PyObject *)parser, NULL));
        }
    }
    Py_DECREF(parser);
    return getters;
}

/* -- the rest ----------------------------------------------------------------- */

/* untrack(items, base) -> None

   Takes the instances of ``base`` in the list ``items`` out of the cyclic
   garbage collector's sight, as CPython does itself with tuples and dicts that
   hold only atoms. A message's slots hold bytes, str, bool, None and objects
   private to it, so it can never be part of a reference cycle; but a program
   that queues many events (every client does) would otherwise have them
   promoted and traversed again by each collection. Instances of a subclass with
   a __dict__ or slots of its own stay tracked: a program may put anything there. */
static PyObject *
untrack(PyObject *module, PyObject *args)
{
    PyObject *items;
    PyObject *base;
    if (!PyArg_ParseTuple(args, "O!O!:untrack", &PyList_Type, &items, &PyType_Type, &base)) {
        return NULL;
    }
    const Py_ssize_t basicsize = ((PyTypeObject *)base)->tp_basicsize;
    const Py_ssize_t count = PyList_GET_SIZE(items);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        PyTypeObject *type = Py_TYPE(item);
        if (type->tp_dictoffset == 0 && type->tp_basicsize == basicsize
            && PyObject_TypeCheck(item, (PyTypeObject *)base) && PyObject_IS_GC(item)
            && PyObject_GC_IsTracked(item)) {
            PyObject_GC_UnTrack(item);
        }
    }
    Py_RETURN_NONE;
}

/* -- the live model's reads ---------------------------------------------------- */

/* values_view(start, stop, values) -> the values from ``start`` to ``stop``

   For the C values: more of the same kind, over the same bytes, with no value
   decoded (the live model keeps one per channel and compares it by its bytes
   with the next). Any other sequence is sliced. ``start`` first, so that
   ``functools.partial`` can bind the bounds. */
static PyObject *
values_view(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "values_view() takes 3 arguments");
        return NULL;
    }
    Py_ssize_t start = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t stop = PyNumber_AsSsize_t(args[1], PyExc_OverflowError);
    if (stop == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *values = args[2];
    ModuleState *state = module_state(module);
    if (!Py_IS_TYPE(values, state->values_type)) {
        return PySequence_GetSlice(values, start, stop);
    }
    Py_ssize_t count = PySlice_AdjustIndices(Py_SIZE(values), &start, &stop, 1);
    Values *view = PyObject_NewVar(Values, state->values_type, count);
    if (view == NULL) {
        return NULL;
    }
    view->raw = Py_NewRef(((Values *)values)->raw);
    memcpy(view->spans, ((Values *)values)->spans + 2 * start, (size_t)count * 2 * sizeof(uint32_t));
    return (PyObject *)view;
}

/* A shape reader's cache and what it calls on a miss; the names it reads by. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *getters; /* dict: shape -> getter */
    PyObject *miss;
    PyObject *headers_name; /* "headers", "_shape", "_values", interned */
    PyObject *shape_name;
    PyObject *values_name;
} ShapeReader;

static PyObject *
shape_reader_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    ShapeReader *reader = (ShapeReader *)self;
    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError, "a reader takes one message");
        return NULL;
    }
    PyObject *headers = PyObject_GetAttr(args[0], reader->headers_name);
    if (headers == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    PyObject *values = NULL;
    PyObject *shape = PyObject_GetAttr(headers, reader->shape_name);
    if (shape == NULL) {
        goto done;
    }
    PyObject *getter = PyDict_GetItemWithError(reader->getters, shape); /* borrowed */
    if (getter != NULL) {
        Py_INCREF(getter);
    }
    else if (PyErr_Occurred()) {
        goto done;
    }
    else {
        getter = PyObject_CallOneArg(reader->miss, headers);
        if (getter == NULL) {
            goto done;
        }
    }
    values = PyObject_GetAttr(headers, reader->values_name);
    if (values != NULL) {
        result = PyObject_CallOneArg(getter, values);
    }
    Py_DECREF(getter);
done:
    Py_XDECREF(values);
    Py_XDECREF(shape);
    Py_DECREF(headers);
    return result;
}

static int
shape_reader_traverse(PyObject *self, visitproc visit, void *arg)
{
    ShapeReader *reader = (ShapeReader *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(reader->getters);
    Py_VISIT(reader->miss);
    return 0;
}

static int
shape_reader_clear(PyObject *self)
{
    ShapeReader *reader = (ShapeReader *)self;
    Py_CLEAR(reader->getters);
    Py_CLEAR(reader->miss);
    Py_CLEAR(reader->headers_name);
    Py_CLEAR(reader->shape_name);
    Py_CLEAR(reader->values_name);
    return 0;
}

static void
shape_reader_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    shape_reader_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyMemberDef shape_reader_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(ShapeReader, vectorcall), READONLY, NULL},
    {"getters", T_OBJECT, offsetof(ShapeReader, getters), READONLY, "The getter of each shape."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot shape_reader_slots[] = {
    {Py_tp_doc, "Reads a message's values with the getter of its headers' shape."},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, shape_reader_members},
    {Py_tp_traverse, shape_reader_traverse},
    {Py_tp_clear, shape_reader_clear},
    {Py_tp_dealloc, shape_reader_dealloc},
    {0, NULL},
};

static PyType_Spec shape_reader_spec = {
    .name = "amiproto._speedups.ShapeReader",
    .basicsize = sizeof(ShapeReader),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_HAVE_GC
             | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = shape_reader_slots,
};

/* shape_reader(getters, miss) -> read(message)

   The C twin of the reader live/_fields.py builds: with ``headers`` the
   message's headers, the getter of ``headers._shape`` in the dict ``getters``
   (or, when it has none, the one ``miss(headers)`` returns, which is expected to
   store it there) is called with ``headers._values``, and its result returned. */
static PyObject *
shape_reader(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "shape_reader() takes a dict and a callable");
        return NULL;
    }
    ModuleState *state = module_state(module);
    ShapeReader *reader = PyObject_GC_New(ShapeReader, state->shape_reader_type);
    if (reader == NULL) {
        return NULL;
    }
    reader->vectorcall = shape_reader_call;
    reader->getters = Py_NewRef(args[0]);
    reader->miss = Py_NewRef(args[1]);
    reader->headers_name = PyUnicode_InternFromString("headers");
    reader->shape_name = PyUnicode_InternFromString("_shape");
    reader->values_name = PyUnicode_InternFromString("_values");
    PyObject_GC_Track(reader);
    if (reader->headers_name == NULL || reader->shape_name == NULL || reader->values_name == NULL) {
        Py_DECREF(reader);
        return NULL;
    }
    return (PyObject *)reader;
}

/* A dispatcher's tables and its count of the items it handed to a handler. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *by_class; /* dict */
    PyObject *fallback;
    PyObject *nothing;  /* () */
    Py_ssize_t seq;
} Dispatcher;

static PyObject *
dispatcher_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Dispatcher *dispatcher = (Dispatcher *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *now = Py_None;
    if (nargs + nkw == 2 && (nkw == 0 || PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "now") == 0)) {
        now = args[1];
    }
    else if (!(nargs == 1 && nkw == 0)) {
        PyErr_SetString(PyExc_TypeError, "apply() takes an item and optionally now");
        return NULL;
    }
    PyObject *item = args[0];
    PyObject *handler = PyDict_GetItemWithError(dispatcher->by_class, (PyObject *)Py_TYPE(item));
    if (handler == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        PyObject *fallback_args[2] = {item, now};
        return PyObject_Vectorcall(dispatcher->fallback, fallback_args, 2, NULL);
    }
    if (handler == Py_None) {
        return Py_NewRef(dispatcher->nothing);
    }
    Py_INCREF(handler); /* the handler may change the table */
    PyObject *seq = PyLong_FromSsize_t(++dispatcher->seq);
    PyObject *changes = seq == NULL ? NULL : PyList_New(0);
    if (changes == NULL) {
        Py_XDECREF(seq);
        Py_DECREF(handler);
        return NULL;
    }
    PyObject *handler_args[4] = {item, now, seq, changes};
    PyObject *result = PyObject_Vectorcall(handler, handler_args, 4, NULL);
    Py_DECREF(seq);
    Py_DECREF(handler);
    if (result == NULL) {
        Py_DECREF(changes);
        return NULL;
    }
    Py_DECREF(result);
    return changes;
}

static int
dispatcher_traverse(PyObject *self, visitproc visit, void *arg)
{
    Dispatcher *dispatcher = (Dispatcher *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(dispatcher->by_class);
    Py_VISIT(dispatcher->fallback);
    return 0;
}

static int
dispatcher_clear(PyObject *self)
{
    Dispatcher *dispatcher = (Dispatcher *)self;
    Py_CLEAR(dispatcher->by_class);
    Py_CLEAR(dispatcher->fallback);
    Py_CLEAR(dispatcher->nothing);
    return 0;
}

static void
dispatcher_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    dispatcher_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyMemberDef dispatcher_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Dispatcher, vectorcall), READONLY, NULL},
    {"seq", T_PYSSIZET, offsetof(Dispatcher, seq), 0, "How many items went to a handler."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot dispatcher_slots[] = {
    {Py_tp_doc, "Hands each item to the handler of its class."},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, dispatcher_members},
    {Py_tp_traverse, dispatcher_traverse},
    {Py_tp_clear, dispatcher_clear},
    {Py_tp_dealloc, dispatcher_dealloc},
    {0, NULL},
};

static PyType_Spec dispatcher_spec = {
    .name = "amiproto._speedups.TypeDispatcher",
    .basicsize = sizeof(Dispatcher),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_HAVE_GC
             | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = dispatcher_slots,
};

/* type_dispatcher(by_class, fallback) -> dispatch(item, now=None)

   The C twin of live._dispatching.TypeDispatcher: the handler of the item's
   exact class in the dict ``by_class`` is called as handler(item, now, seq,
   changes), with ``seq`` counted up first and ``changes`` a new list, which is
   returned; a class whose handler is None returns (); a class not in the dict
   goes to fallback(item, now), whose result is returned. */
static PyObject *
type_dispatcher(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "type_dispatcher() takes a dict and a callable");
        return NULL;
    }
    ModuleState *state = module_state(module);
    Dispatcher *dispatcher = PyObject_GC_New(Dispatcher, state->dispatcher_type);
    if (dispatcher == NULL) {
        return NULL;
    }
    dispatcher->vectorcall = dispatcher_call;
    dispatcher->by_class = Py_NewRef(args[0]);
    dispatcher->fallback = Py_NewRef(args[1]);
    dispatcher->nothing = PyTuple_New(0);
    dispatcher->seq = 0;
    if (dispatcher->nothing == NULL) {
        Py_DECREF(dispatcher);
        return NULL;
    }
    PyObject_GC_Track(dispatcher);
    return (PyObject *)dispatcher;
}

/* A maker's class and the offsets of the slots it fills, in its arguments' order. */
typedef struct {
    PyObject_VAR_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *type;
    Py_ssize_t offsets[1];
} Maker;

static PyObject *
maker_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Maker *maker = (Maker *)self;
    Py_ssize_t count = Py_SIZE(maker);
    if (PyVectorcall_NARGS(nargsf) != count || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_Format(PyExc_TypeError, "making a %s takes %zd positional arguments", maker->type->tp_name, count);
        return NULL;
    }
    PyObject *made = maker->type->tp_alloc(maker->type, 0);
    if (made == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        set_slot(made, maker->offsets[i], args[i]);
    }
    return made;
}

static int
maker_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((Maker *)self)->type);
    return 0;
}

static int
maker_clear(PyObject *self)
{
    Py_CLEAR(((Maker *)self)->type);
    return 0;
}

static void
maker_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    maker_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyMemberDef maker_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Maker, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot maker_slots[] = {
    {Py_tp_doc, "Makes instances of a slotted class from its slots' values, without its __init__."},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, maker_members},
    {Py_tp_traverse, maker_traverse},
    {Py_tp_clear, maker_clear},
    {Py_tp_dealloc, maker_dealloc},
    {0, NULL},
};

static PyType_Spec maker_spec = {
    .name = "amiproto._speedups.InstanceMaker",
    .basicsize = offsetof(Maker, offsets),
    .itemsize = sizeof(Py_ssize_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_HAVE_GC
             | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = maker_slots,
};

/* instance_maker(cls, names) -> make(*values)

   The C twin of calling ``cls(*values)`` for a class whose ``__init__`` only
   stores each argument in the slot of the same name (a slotted dataclass,
   frozen or not, without __post_init__: the caller checks that): the instance is
   allocated and its slots ``names`` filled, in that order, without running
   Python. A slot not named stays unset, as after ``del``. */
static PyObject *
instance_maker(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyType_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "instance_maker() takes a class and a tuple of slot names");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    PyObject *names = args[1];
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (type->tp_dictoffset != 0 || type->tp_alloc == NULL) {
        PyErr_Format(PyExc_TypeError, "%s has a __dict__: not a slotted class", type->tp_name);
        return NULL;
    }
    ModuleState *state = module_state(module);
    Maker *maker = PyObject_GC_NewVar(Maker, state->maker_type, count);
    if (maker == NULL) {
        return NULL;
    }
    maker->vectorcall = maker_call;
    maker->type = (PyTypeObject *)Py_NewRef(type);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        const char *text = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
        if (text == NULL || slot_offset(type, text, &maker->offsets[i]) < 0) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "a slot name is a str");
            }
            Py_DECREF(maker);
            return NULL;
        }
    }
    PyObject_GC_Track(maker);
    return (PyObject *)maker;
}

/* An assigner's fixed part: field names (None: a value to skip), a converter or
   None for each, and the C values' type. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *names;      /* tuple */
    PyObject *converters; /* tuple, as long */
    ModuleState *state;
    PyObject *module;
} Assigner;

/* Value ``i`` of ``values`` (any sequence), a new reference. */
static inline PyObject *
item_of(ModuleState *state, PyObject *values, Py_ssize_t i)
{
    if (Py_IS_TYPE(values, state->values_type)) {
        return value_at(state, (Values *)values, i);
    }
    if (PyList_CheckExact(values)) {
        return Py_NewRef(PyList_GET_ITEM(values, i));
    }
    return PySequence_GetItem(values, i);
}

/* Whether value ``i`` is the same in both: 1, 0, or -1 on error. */
static int
unchanged(ModuleState *state, PyObject *new, PyObject *old, Py_ssize_t i)
{
    if (Py_IS_TYPE(new, state->values_type) && Py_IS_TYPE(old, state->values_type)) {
        return same_value_bytes((Values *)new, i, (Values *)old, i);
    }
    PyObject *a = item_of(state, new, i);
    if (a == NULL) {
        return -1;
    }
    PyObject *b = item_of(state, old, i);
    if (b == NULL) {
        Py_DECREF(a);
        return -1;
    }
    int same = a == b ? 1 : PyObject_RichCompareBool(a, b, Py_EQ);
    Py_DECREF(a);
    Py_DECREF(b);
    return same;
}

/* Set one field to ``value`` (a new reference, consumed) unless it already equals it. */
static int
assign_one(PyObject *target, PyObject *name, PyObject *converter, PyObject *value, PyObject *fields)
{
    if (converter != Py_None) {
        Py_SETREF(value, PyObject_CallOneArg(converter, value));
        if (value == NULL) {
            return -1;
        }
    }
    PyObject *current = PyObject_GetAttr(target, name);
    if (current == NULL) {
        Py_DECREF(value);
        return -1;
    }
    int same = current == value ? 1 : PyObject_RichCompareBool(current, value, Py_EQ);
    int failed = same < 0;
    if (same == 0) {
        PyObject *pair = PyTuple_Pack(2, current, value);
        failed = pair == NULL || PyDict_SetItem(fields, name, pair) < 0 || PyObject_SetAttr(target, name, value) < 0;
        Py_XDECREF(pair);
    }
    Py_DECREF(current);
    Py_DECREF(value);
    return failed ? -1 : 0;
}

/* assign(target, new, old, fields): see field_assigner below. */
static PyObject *
assigner_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Assigner *assigner = (Assigner *)self;
    if (PyVectorcall_NARGS(nargsf) != 4 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError, "an assigner takes 4 positional arguments");
        return NULL;
    }
    PyObject *target = args[0], *new = args[1], *old = args[2], *fields = args[3];
    if (!PyDict_Check(fields)) {
        PyErr_SetString(PyExc_TypeError, "fields must be a dict");
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(assigner->names);
    if (PyObject_Length(new) < count || (old != Py_None && PyObject_Length(old) < count)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "fewer values than fields");
        }
        return NULL;
    }
    ModuleState *state = assigner->state;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(assigner->names, i);
        if (name == Py_None) {
            continue;
        }
        if (old != Py_None) {
            int same = unchanged(state, new, old, i);
            if (same != 0) {
                if (same < 0) {
                    return NULL;
                }
                continue;
            }
        }
        PyObject *value = item_of(state, new, i);
        if (value == NULL) {
            return NULL;
        }
        if (value == Py_None) {
            Py_DECREF(value);
            continue;
        }
        if (assign_one(target, name, PyTuple_GET_ITEM(assigner->converters, i), value, fields) < 0) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

static int
assigner_traverse(PyObject *self, visitproc visit, void *arg)
{
    Assigner *assigner = (Assigner *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(assigner->names);
    Py_VISIT(assigner->converters);
    Py_VISIT(assigner->module);
    return 0;
}

static int
assigner_clear(PyObject *self)
{
    Assigner *assigner = (Assigner *)self;
    Py_CLEAR(assigner->names);
    Py_CLEAR(assigner->converters);
    Py_CLEAR(assigner->module);
    return 0;
}

static void
assigner_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    assigner_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyMemberDef assigner_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Assigner, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot assigner_slots[] = {
    {Py_tp_doc, "Sets an object's fields from a sequence of values, noting those that moved."},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, assigner_members},
    {Py_tp_traverse, assigner_traverse},
    {Py_tp_clear, assigner_clear},
    {Py_tp_dealloc, assigner_dealloc},
    {0, NULL},
};

static PyType_Spec assigner_spec = {
    .name = "amiproto._speedups.FieldAssigner",
    .basicsize = sizeof(Assigner),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_HAVE_GC
             | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = assigner_slots,
};

/* field_assigner(names, converters) -> assign(target, new, old, fields)

   The C twin of the live model's generated assigners (live/_fields.py): for each
   position ``i`` whose name is not None, where ``old`` is None or its value
   differs from ``new``'s (for two C values, by their bytes, so that neither is
   decoded), a value of ``new`` that is not None, passed through
   ``converters[i]`` when that is not None, is set as ``target``'s attribute
   ``names[i]`` if that differs, and ``fields[names[i]]`` gets (old, new). */
static PyObject *
field_assigner(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_Check(args[0]) || !PyTuple_Check(args[1])
        || PyTuple_GET_SIZE(args[0]) != PyTuple_GET_SIZE(args[1])) {
        PyErr_SetString(PyExc_TypeError, "field_assigner() takes two tuples of one length: names and converters");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args[0]); i++) {
        PyObject *name = PyTuple_GET_ITEM(args[0], i);
        if (name != Py_None && !PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "a field name is a str or None");
            return NULL;
        }
    }
    ModuleState *state = module_state(module);
    Assigner *assigner = PyObject_GC_New(Assigner, state->assigner_type);
    if (assigner == NULL) {
        return NULL;
    }
    assigner->vectorcall = assigner_call;
    assigner->names = Py_NewRef(args[0]);
    assigner->converters = Py_NewRef(args[1]);
    assigner->state = state;
    assigner->module = Py_NewRef(module);
    PyObject_GC_Track(assigner);
    return (PyObject *)assigner;
}

static PyMethodDef methods[] = {
    {"take_events", (PyCFunction)(void (*)(void))take_events, METH_FASTCALL,
     "Take the plain messages at the front of a buffer, as events."},
    {"header_pairs", (PyCFunction)(void (*)(void))header_pairs, METH_FASTCALL,
     "An action's headers, when each is plain; None otherwise."},
    {"serialize", (PyCFunction)(void (*)(void))serialize, METH_FASTCALL,
     "An action's bytes in UTF-8; None when Python must make them."},
    {"answerer", (PyCFunction)(void (*)(void))answerer, METH_FASTCALL,
     "What take_events needs to complete ordinary actions as their answers come."},
    {"sender", (PyCFunction)(void (*)(void))sender, METH_FASTCALL,
     "A function that sends a connection's ordinary actions in one call."},
    {"message_getters", (PyCFunction)(void (*)(void))message_getters, METH_FASTCALL,
     "The getters of Message.headers and Message.action_id."},
    {"iter_headers", (PyCFunction)(void (*)(void))iter_headers, METH_FASTCALL,
     "The (name, value) pairs of a Headers."},
    {"untrack", untrack, METH_VARARGS, "Hide the instances of a message class from the cyclic GC."},
    {"values_view", (PyCFunction)(void (*)(void))values_view, METH_FASTCALL,
     "Header values from start to stop, over the same bytes."},
    {"shape_reader", (PyCFunction)(void (*)(void))shape_reader, METH_FASTCALL,
     "A function that reads a message's values with the getter of its shape."},
    {"type_dispatcher", (PyCFunction)(void (*)(void))type_dispatcher, METH_FASTCALL,
     "A function that hands each item to the handler of its class."},
    {"instance_maker", (PyCFunction)(void (*)(void))instance_maker, METH_FASTCALL,
     "A function that makes instances of a slotted class without its __init__."},
    {"field_assigner", (PyCFunction)(void (*)(void))field_assigner, METH_FASTCALL,
     "A function that sets an object's fields from a sequence of values."},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    ModuleState *state = module_state(module);
    state->values_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &values_spec, NULL);
    state->values_iter_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &values_iter_spec, NULL);
    state->pairs_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &pairs_spec, NULL);
    state->parser_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &parser_spec, NULL);
    state->assigner_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &assigner_spec, NULL);
    state->maker_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &maker_spec, NULL);
    state->dispatcher_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &dispatcher_spec, NULL);
    state->shape_reader_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &shape_reader_spec, NULL);
    state->answerer_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &answerer_spec, NULL);
    state->sender_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &sender_spec, NULL);
    if (state->values_type == NULL || state->values_iter_type == NULL || state->pairs_type == NULL
        || state->parser_type == NULL || state->assigner_type == NULL || state->maker_type == NULL
        || state->dispatcher_type == NULL || state->shape_reader_type == NULL || state->answerer_type == NULL
        || state->sender_type == NULL) {
        return -1;
    }
    return 0;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModuleState *state = module_state(module);
    Py_VISIT(state->values_type);
    Py_VISIT(state->values_iter_type);
    Py_VISIT(state->pairs_type);
    Py_VISIT(state->parser_type);
    Py_VISIT(state->assigner_type);
    Py_VISIT(state->maker_type);
    Py_VISIT(state->dispatcher_type);
    Py_VISIT(state->shape_reader_type);
    Py_VISIT(state->answerer_type);
    Py_VISIT(state->sender_type);
    Py_VISIT(state->event.type);
    Py_VISIT(state->names_owner);
    for (int i = 0; i < NAMES_CACHED; i++) {
        Py_VISIT(state->names_cached[i].known);
    }
    return 0; /* the cached values are str, which hold no references */
}

static int
module_clear(PyObject *module)
{
    ModuleState *state = module_state(module);
    Py_CLEAR(state->values_type);
    Py_CLEAR(state->values_iter_type);
    Py_CLEAR(state->pairs_type);
    Py_CLEAR(state->parser_type);
    Py_CLEAR(state->assigner_type);
    Py_CLEAR(state->maker_type);
    Py_CLEAR(state->dispatcher_type);
    Py_CLEAR(state->shape_reader_type);
    Py_CLEAR(state->answerer_type);
    Py_CLEAR(state->sender_type);
    Py_CLEAR(state->event.type);
    for (int i = 0; i < VALUES_CACHED; i++) {
        Py_CLEAR(state->values_cached[i]);
    }
    forget_names(state);
    return 0;
}

static void
module_free(void *module)
{
    module_clear((PyObject *)module);
}

/* Its state is per module object: safe in subinterpreters and without the GIL
   (a Framer is used by one thread at a time; a race on a message's headers at
   worst parses them twice). */
static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, module_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "amiproto._speedups",
    .m_doc = "Optional C versions of the core's hot paths.",
    .m_size = sizeof(ModuleState),
    .m_methods = methods,
    .m_slots = slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&module_def);
}
