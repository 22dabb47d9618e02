/* Optional C versions of the core's three hot loops.

   Each function does exactly what its pure-Python twin does (named below), and
   tests/test_speedups.py compares the two on generated and recorded input. The
   package works without this module; it is built when a C compiler is there.

   Every scan is bounded by the length of the buffer it was given, and every
   index is checked against it before a byte is read. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static const char EVENT_PREFIX[] = "Event:";
static const char RESPONSE_PREFIX[] = "Response:";
#define EVENT_LEN 6
#define RESPONSE_LEN 9

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
    return memcmp(p, prefix, (size_t)(n < prefix_len ? n : prefix_len)) == 0;
}

/* Why take_run stopped at the message it left in the buffer. */
enum { STOP_NEED_DATA = 0, STOP_GENERAL = 1 };

/* take_run(buffer, max_message_size, resume, first_lf)
       -> (raws, keys, consumed, stop, resume, first_lf)

   The C twin of the pure-Python fast path in Framer.take_plain_run. Takes the
   complete messages at the front of ``buffer`` that the general framer would
   frame the same way, each with its closing LF CRLF: messages that start with
   "Event:" or with a "Response:" line that is not "Follows", end at the first
   LF CRLF, hold no bare LF LF before it and no second line that starts with
   their own first header's name, and fit in max_message_size. keys[i] is the
   rest of an event's first line (its name, unstripped), or None for a response.

   It stops at the first message that is not like that (stop = STOP_GENERAL:
   the general path takes it) or not complete yet (STOP_NEED_DATA). Then resume
   and first_lf tell where the scan of that message stopped and where its first
   line ended (-1: not yet), counted from its start; passing them back on the
   next call continues the scan there, so a message that comes in many pieces
   is scanned once. They must come from the previous call on the same message
   (or be 0 and -1): a value out of range is ignored, but one in range is
   trusted, and a stale one would make the scan skip bytes. */
static PyObject *
take_run(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t limit, resume, first_lf;
    if (!PyArg_ParseTuple(args, "y*nnn", &view, &limit, &resume, &first_lf)) {
        return NULL;
    }
    const char *data = (const char *)view.buf;
    const Py_ssize_t size = view.len;
    PyObject *raws = PyList_New(0);
    PyObject *keys = PyList_New(0);
    if (raws == NULL || keys == NULL) {
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
        const Py_ssize_t left = size - start;
        int is_event;
        const char *own;
        Py_ssize_t own_len;
        if (may_start_with(message, left, EVENT_PREFIX, EVENT_LEN)) {
            is_event = 1;
            own = EVENT_PREFIX;
            own_len = EVENT_LEN;
        }
        else if (may_start_with(message, left, RESPONSE_PREFIX, RESPONSE_LEN)) {
            is_event = 0;
            own = RESPONSE_PREFIX;
            own_len = RESPONSE_LEN;
        }
        else {
            stop = STOP_GENERAL;
            resume = 0;
            first_lf = -1;
            break;
        }
        Py_ssize_t end = -1; /* offset from start, just past LF CRLF */
        Py_ssize_t scan = resume > own_len ? resume : own_len;
        stop = STOP_NEED_DATA;
        while (scan < left) {
            const char *lf = memchr(message + scan, '\n', (size_t)(left - scan));
            if (lf == NULL) {
                scan = left;
                break;
            }
            Py_ssize_t at = lf - message;
            if (at + 1 > limit) {
                stop = STOP_GENERAL; /* over the size limit: the general path reports it */
                break;
            }
            if (first_lf < 0) {
                first_lf = at;
                if (!is_event && is_follows(message + RESPONSE_LEN, lf)) {
                    stop = STOP_GENERAL;
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
                stop = STOP_GENERAL; /* a bare LF LF: the general path decides */
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
                stop = STOP_GENERAL;
                break;
            }
            scan = at + 1;
        }
        if (end < 0 || end > limit) {
            if (end > limit || (stop == STOP_NEED_DATA && left > limit)) {
                stop = STOP_GENERAL;
            }
            if (stop == STOP_GENERAL) {
                resume = 0;
                first_lf = -1;
            }
            else {
                resume = scan < left ? scan : left;
            }
            break;
        }
        PyObject *raw = PyBytes_FromStringAndSize(message, end);
        if (raw == NULL) {
            goto error;
        }
        int failed = PyList_Append(raws, raw);
        Py_DECREF(raw);
        if (failed) {
            goto error;
        }
        PyObject *key;
        if (is_event) {
            key = PyBytes_FromStringAndSize(message + EVENT_LEN, first_lf - EVENT_LEN);
            if (key == NULL) {
                goto error;
            }
        }
        else {
            key = Py_NewRef(Py_None);
        }
        failed = PyList_Append(keys, key);
        Py_DECREF(key);
        if (failed) {
            goto error;
        }
        start += end;
        resume = 0;
        first_lf = -1;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(NNninn)", raws, keys, start, stop, resume, first_lf);

error:
    PyBuffer_Release(&view);
    Py_XDECREF(raws);
    Py_XDECREF(keys);
    return NULL;
}

static PyObject *
decode(const char *start, Py_ssize_t length)
{
    return PyUnicode_DecodeUTF8(start, length, "surrogateescape");
}

/* split_headers(data, end) -> (shape_key, values, unparsed)

   The C twin of _headers.split_lines for UTF-8, on data[:end]: a line ends at
   LF with one CR before it dropped; the first colon separates name and value,
   and one space after it belongs to the separator; a line without a colon is
   unparsed; empty lines carry nothing. Names are not decoded: shape_key holds
   their bytes joined with LF, which the caller maps to a shared shape. Values
   and unparsed lines are decoded with surrogateescape; UTF-8 never has an
   ASCII byte inside a multi-byte character, so decoding piece by piece gives
   what decoding the whole and then splitting gives. */
static PyObject *
split_headers(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t end;
    if (!PyArg_ParseTuple(args, "y*n", &view, &end)) {
        return NULL;
    }
    if (end < 0 || end > view.len) {
        end = view.len;
    }
    const char *data = (const char *)view.buf;
    PyObject *values = PyList_New(0);
    PyObject *unparsed = PyList_New(0);
    PyObject *key = NULL;
    char *names = NULL;
    Py_ssize_t names_len = 0;
    if (values == NULL || unparsed == NULL) {
        goto error;
    }
    /* Names are never longer, all together, than the data they come from. */
    names = PyMem_Malloc((size_t)end + 1);
    if (names == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    Py_ssize_t pos = 0;
    while (pos < end) {
        const char *line = data + pos;
        const char *lf = memchr(line, '\n', (size_t)(end - pos));
        Py_ssize_t length = lf == NULL ? end - pos : lf - line;
        pos += length + 1;
        if (lf != NULL && length > 0 && line[length - 1] == '\r') {
            length--;
        }
        if (length == 0) {
            continue;
        }
        const char *colon = memchr(line, ':', (size_t)length);
        PyObject *text;
        if (colon == NULL) {
            text = decode(line, length);
            if (text == NULL || PyList_Append(unparsed, text) < 0) {
                Py_XDECREF(text);
                goto error;
            }
            Py_DECREF(text);
            continue;
        }
        Py_ssize_t name_len = colon - line;
        if (PyList_GET_SIZE(values) > 0) {
            names[names_len++] = '\n'; /* after the previous name, even an empty one */
        }
        memcpy(names + names_len, line, (size_t)name_len);
        names_len += name_len;
        const char *value = colon + 1;
        const char *line_end = line + length;
        if (value < line_end && *value == ' ') {
            value++;
        }
        text = decode(value, line_end - value);
        if (text == NULL || PyList_Append(values, text) < 0) {
            Py_XDECREF(text);
            goto error;
        }
        Py_DECREF(text);
    }
    key = PyBytes_FromStringAndSize(names, names_len);
    if (key == NULL) {
        goto error;
    }
    PyMem_Free(names);
    PyBuffer_Release(&view);
    return Py_BuildValue("(NNN)", key, values, unparsed);

error:
    PyMem_Free(names);
    PyBuffer_Release(&view);
    Py_XDECREF(values);
    Py_XDECREF(unparsed);
    return NULL;
}

/* find_action_id(data) -> bytes | None

   The C twin of Message.action_id's regex search: the first line that starts
   with "ActionID" in any case and a colon; one space after the colon is
   dropped, and one CR at the line's end. */
static PyObject *
find_action_id(PyObject *module, PyObject *arg)
{
    static const char word[] = "actionid";
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const char *data = (const char *)view.buf;
    const Py_ssize_t size = view.len;
    Py_ssize_t pos = 0;
    PyObject *result = NULL;
    while (pos < size) {
        const char *line = data + pos;
        const char *lf = memchr(line, '\n', (size_t)(size - pos));
        Py_ssize_t length = lf == NULL ? size - pos : lf - line;
        if (length > 8 && line[8] == ':' && (line[0] == 'A' || line[0] == 'a')) {
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
                const char *value_end = line + length;
                if (value < value_end && *value == ' ') {
                    value++;
                }
                if (value < value_end && value_end[-1] == '\r') {
                    value_end--;
                }
                result = PyBytes_FromStringAndSize(value, value_end - value);
                PyBuffer_Release(&view);
                return result;
            }
        }
        if (lf == NULL) {
            break;
        }
        pos += length + 1;
    }
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

/* untrack(items, base) -> None

   Takes the instances of ``base`` in the list ``items`` out of the cyclic
   garbage collector's sight, as CPython does itself with tuples and dicts that
   hold only atoms. A message's slots hold bytes, str, bool, None and objects
   private to it, so it can never be part of a reference cycle; but a program
   that queues many events (every client does) would otherwise have them
   promoted and traversed again by each collection. Instances of a subclass with
   a __dict__ stay tracked: a program may put anything there. */
static PyObject *
untrack(PyObject *module, PyObject *args)
{
    PyObject *items;
    PyObject *base;
    if (!PyArg_ParseTuple(args, "O!O!:untrack", &PyList_Type, &items, &PyType_Type, &base)) {
        return NULL;
    }
    const Py_ssize_t count = PyList_GET_SIZE(items);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        PyTypeObject *type = Py_TYPE(item);
        if (type->tp_dictoffset == 0 && PyObject_TypeCheck(item, (PyTypeObject *)base)
            && PyObject_IS_GC(item) && PyObject_GC_IsTracked(item)) {
            PyObject_GC_UnTrack(item);
        }
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"take_run", take_run, METH_VARARGS, "Take the plain messages at the front of a buffer."},
    {"split_headers", split_headers, METH_VARARGS, "Split a UTF-8 message into header values."},
    {"find_action_id", find_action_id, METH_O, "The first ActionID value of a message, or None."},
    {"untrack", untrack, METH_VARARGS, "Hide the instances of a message class from the cyclic GC."},
    {NULL, NULL, 0, NULL},
};

/* The module holds no state: safe in subinterpreters and without the GIL (a
   Framer is used by one thread at a time). */
static PyModuleDef_Slot slots[] = {
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
    .m_doc = "Optional C versions of the core's hot loops.",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&module_def);
}
