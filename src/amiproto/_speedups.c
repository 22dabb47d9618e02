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

/* True when the rest of a "Response:" first line is "Follows" in any case,
   with any white space around it (the framer's _FOLLOWS_FIRST_LINE). */
static int
is_follows(const char *p, const char *end)
{
    static const char word[] = "follows";
    while (p < end && is_space(*p)) {
        p++;
    }
    if (end - p < 7) {
        return 0;
    }
    for (int i = 0; i < 7; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != word[i]) {
            return 0;
        }
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
        if (end - start > 8 && line[8] == ':' && (line[0] == 'A' || line[0] == 'a')) {
            int match = 1;
            for (int i = 1; i < 8; i++) {
                char c = line[i];
                if (c >= 'A' && c <= 'Z') {
                    c = (char)(c - 'A' + 'a');
                }
                if (c != word[i]) {
                    match = 0;
                    break;
                }
            }
            if (match) {
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

/* take_events(buffer, max_message_size, resume, first_lf, names, learn, encoding, event_type)
       -> (events, response, consumed, stop, resume, first_lf)

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
   order after the events; otherwise ``response`` is None.

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
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "take_events() takes 8 arguments");
        return NULL;
    }
    PyObject *names = args[4];
    PyObject *learn = args[5];
    PyObject *encoding = args[6];
    if (!PyDict_Check(names) || !PyType_Check(args[7])) {
        PyErr_SetString(PyExc_TypeError, "take_events() needs a dict of names and an event class");
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
    ModuleState *state = module_state(module);
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const char *data = (const char *)view.buf;
    const Py_ssize_t size = view.len;
    PyObject *events = PyList_New(0);
    PyObject *response = NULL;
    if (events == NULL) {
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
    return Py_BuildValue("(NNninn)", events, response, start, stop, resume, first_lf);

error:
    PyBuffer_Release(&view);
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

static PyObject *
values_richcompare(PyObject *self, PyObject *other, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !(PyList_Check(other) || Py_IS_TYPE(other, Py_TYPE(self)))) {
        Py_RETURN_NOTIMPLEMENTED;
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
    else if (PyUnicode_CompareWithASCIIString(encoding, "utf-8") == 0) {
        result = decode(start, end - start);
    }
    else {
        const char *name = PyUnicode_AsUTF8(encoding);
        result = name == NULL ? NULL : PyUnicode_Decode(start, end - start, name, "surrogateescape");
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

static PyMethodDef methods[] = {
    {"take_events", (PyCFunction)(void (*)(void))take_events, METH_FASTCALL,
     "Take the plain messages at the front of a buffer, as events."},
    {"message_getters", (PyCFunction)(void (*)(void))message_getters, METH_FASTCALL,
     "The getters of Message.headers and Message.action_id."},
    {"iter_headers", (PyCFunction)(void (*)(void))iter_headers, METH_FASTCALL,
     "The (name, value) pairs of a Headers."},
    {"untrack", untrack, METH_VARARGS, "Hide the instances of a message class from the cyclic GC."},
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
    if (state->values_type == NULL || state->values_iter_type == NULL || state->pairs_type == NULL
        || state->parser_type == NULL) {
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
