/* Optional C version of the clients' dispatch loop (_shared/_callbacks.py).

   The loop runs once per event; in Python its bookkeeping costs a client more
   than everything else it adds to the core's work. This does the same: for
   each message, the callbacks cached under its event name (when the cached
   class is the message's own) or else those matching() gives, each called in
   order. The cache is read from its one-item list per message: a registration
   puts a new dict there, and a callback that removes itself must not be
   called again for the rest of the batch. A callback's Exception (or, when a
   9th argument names another class, an instance of that) goes to failed(callback, message, error) and the next
   one runs; any other BaseException stops the loop and propagates.
   A callback that returns something other than None pauses the loop, so that
   an async client can await it: the caller passes the returned position back
   to go on.

   all_instances(items, cls) is the routing's question for every read: are
   these items all of that class? The same as all(map(isinstance, ...)), at a
   few nanoseconds per item instead of tens. route_answers(...) pairs a read's
   answers with their waiters. The module holds only the names it reads. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The callbacks of one message: a new reference to a tuple, or NULL with an
   exception set. */
static PyObject *
callbacks_of(PyObject *message, PyObject *cell, PyObject *matching, PyObject *name_attr)
{
    PyObject *name = PyObject_GetAttr(message, name_attr);
    if (name != NULL) {
        /* Read after the name, which may have run Python code. */
        if (PyList_GET_SIZE(cell) != 1 || !PyDict_Check(PyList_GET_ITEM(cell, 0))) {
            Py_DECREF(name);
            PyErr_SetString(PyExc_TypeError, "dispatch(): the cache cell must hold one dict");
            return NULL;
        }
        PyObject *by_name = Py_NewRef(PyList_GET_ITEM(cell, 0));
        PyObject *hit = PyDict_GetItemWithError(by_name, name); /* borrowed from by_name */
        Py_DECREF(name);
        PyObject *found = NULL;
        if (hit != NULL && PyTuple_Check(hit) && PyTuple_GET_SIZE(hit) == 2 &&
            PyTuple_GET_ITEM(hit, 0) == (PyObject *)Py_TYPE(message) &&
            PyTuple_Check(PyTuple_GET_ITEM(hit, 1))) {
            found = Py_NewRef(PyTuple_GET_ITEM(hit, 1));
        }
        Py_DECREF(by_name); /* hit is not read past here */
        if (found != NULL) {
            return found;
        }
        if (hit == NULL && PyErr_Occurred()) {
            return NULL;
        }
    }
    else if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear(); /* not an event: matching() decides */
    }
    else {
        return NULL;
    }
    PyObject *found = PyObject_CallOneArg(matching, message);
    if (found != NULL && !PyTuple_Check(found)) {
        Py_DECREF(found);
        PyErr_SetString(PyExc_TypeError, "matching() must return a tuple of callbacks");
        return NULL;
    }
    return found;
}

/* Hand the current exception, an Exception, to failed(callback, message, error).
   Returns -1 when failed itself raised. */
static int
report_failure(PyObject *failed, PyObject *callback, PyObject *message)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL && value != NULL) {
        PyException_SetTraceback(value, traceback);
    }
    PyObject *done = PyObject_CallFunctionObjArgs(failed, callback, message, value ? value : Py_None, NULL);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    if (done == NULL) {
        return -1;
    }
    Py_DECREF(done);
    return 0;
}

/* dispatch(messages, index, callbacks, position, by_name_cell, matching, failed, name_attr[, caught])
       -> None | (index, callbacks, position, result)

   Runs the callbacks of messages[index:], starting, for messages[index], at
   callbacks[position] when callbacks is a tuple (a paused loop going on), or
   from its first callback when it is None. Returns None when done, or where
   it paused and what the callback returned. */
static PyObject *
dispatch(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 && nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "dispatch() takes 8 or 9 arguments");
        return NULL;
    }
    /* What a callback may raise and still be reported: Exception by default (so
       that an async client's cancellation passes), BaseException for threads. */
    PyObject *caught = nargs == 9 ? args[8] : PyExc_Exception;
    if (!PyExceptionClass_Check(caught)) {
        PyErr_SetString(PyExc_TypeError, "dispatch(): the 9th argument must be an exception class");
        return NULL;
    }
    PyObject *messages = args[0];
    PyObject *callbacks = args[2];
    PyObject *cell = args[4];
    PyObject *matching = args[5];
    PyObject *failed = args[6];
    PyObject *name_attr = args[7];
    if (!PyList_Check(messages) || !PyList_Check(cell) || !PyUnicode_Check(name_attr) ||
        (callbacks != Py_None && !PyTuple_Check(callbacks))) {
        PyErr_SetString(PyExc_TypeError, "dispatch(list, int, tuple | None, int, [dict], f, f, str)");
        return NULL;
    }
    Py_ssize_t index = PyLong_AsSsize_t(args[1]);
    if (index == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t position = PyLong_AsSsize_t(args[3]);
    if (position == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (index < 0 || position < 0) {
        PyErr_SetString(PyExc_ValueError, "dispatch() positions must not be negative");
        return NULL;
    }
    Py_INCREF(callbacks);
    /* The size is read again each time: a callback may hold the list. */
    for (; index < PyList_GET_SIZE(messages); index++) {
        PyObject *message = Py_NewRef(PyList_GET_ITEM(messages, index));
        if (callbacks == Py_None) {
            Py_DECREF(callbacks);
            callbacks = callbacks_of(message, cell, matching, name_attr);
            if (callbacks == NULL) {
                Py_DECREF(message);
                return NULL;
            }
            position = 0;
        }
        for (; position < PyTuple_GET_SIZE(callbacks); position++) {
            PyObject *callback = PyTuple_GET_ITEM(callbacks, position);
            PyObject *result = PyObject_CallOneArg(callback, message);
            if (result == NULL) {
                if (!PyErr_ExceptionMatches(caught) ||
                    report_failure(failed, callback, message) < 0) {
                    Py_DECREF(message);
                    Py_DECREF(callbacks);
                    return NULL;
                }
                continue;
            }
            if (result != Py_None) {
                PyObject *paused = Py_BuildValue("(nOnN)", index, callbacks, position, result);
                Py_DECREF(message);
                Py_DECREF(callbacks);
                return paused;
            }
            Py_DECREF(result);
        }
        Py_DECREF(message);
        Py_DECREF(callbacks);
        callbacks = Py_NewRef(Py_None);
    }
    Py_DECREF(callbacks);
    Py_RETURN_NONE;
}

/* all_instances(items, cls) -> bool: whether every item of the list is an
   instance of cls (or of a subclass); True for an empty list. */
static PyObject *
all_instances(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]) || !PyType_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "all_instances(list, type)");
        return NULL;
    }
    PyObject *items = args[0];
    PyTypeObject *cls = (PyTypeObject *)args[1];
    /* PyObject_TypeCheck calls no Python code, so the list cannot change meanwhile. */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        if (!PyObject_TypeCheck(PyList_GET_ITEM(items, i), cls)) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

/* The attribute names route_answers reads, interned once per module object. */
typedef struct {
    PyObject *orphan_name;
    PyObject *action_id_name;
} RoutingNames;

/* route_answers(items, start, waiters, completed, response_type, completed_type) -> int

   The routing of a read's answers, from items[start]: an ActionCompleted
   (exactly of completed_type) whose ActionID has a waiter in the dict
   ``waiters`` leaves it there, paired with it in ``completed``; a Response
   (exactly of response_type) that is not an orphan was for such an action and
   needs nothing. Returns the index of the first other item (the caller routes
   that one, then calls again after it), or the list's length. */
static PyObject *
route_answers(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyList_CheckExact(args[0]) || !PyDict_CheckExact(args[2]) || !PyList_CheckExact(args[3])
        || !PyType_Check(args[4]) || !PyType_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError, "route_answers(list, int, dict, list, type, type)");
        return NULL;
    }
    RoutingNames *state = (RoutingNames *)PyModule_GetState(module);
    PyObject *items = args[0], *waiters = args[2], *completed = args[3];
    PyTypeObject *response_type = (PyTypeObject *)args[4], *completed_type = (PyTypeObject *)args[5];
    Py_ssize_t index = PyNumber_AsSsize_t(args[1], PyExc_OverflowError);
    if (index == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (index < 0) {
        index = 0;
    }
    /* The list is read again at every step: the attribute reads and the dict's
       key comparisons may run Python code. */
    for (; index < PyList_GET_SIZE(items); index++) {
        PyObject *item = PyList_GET_ITEM(items, index);
        if (Py_IS_TYPE(item, response_type)) {
            PyObject *orphan = PyObject_GetAttr(item, state->orphan_name);
            if (orphan == NULL) {
                return NULL;
            }
            Py_DECREF(orphan);
            if (orphan != Py_False) {
                break;
            }
            continue;
        }
        if (!Py_IS_TYPE(item, completed_type)) {
            break;
        }
        Py_INCREF(item);
        PyObject *action_id = PyObject_GetAttr(item, state->action_id_name);
        PyObject *waiter = action_id == NULL ? NULL : PyDict_GetItemWithError(waiters, action_id); /* borrowed */
        if (waiter == NULL) {
            Py_XDECREF(action_id);
            Py_DECREF(item);
            if (PyErr_Occurred()) {
                return NULL;
            }
            break; /* nobody's: the caller knows what else it may be */
        }
        PyObject *pair = PyTuple_Pack(2, waiter, item);
        Py_DECREF(item);
        Py_ssize_t before = PyList_GET_SIZE(completed);
        /* Paired first, then taken from the dict: on an error, neither happened. */
        if (pair == NULL || PyList_Append(completed, pair) < 0) {
            Py_XDECREF(pair);
            Py_DECREF(action_id);
            return NULL;
        }
        Py_DECREF(pair);
        if (PyDict_DelItem(waiters, action_id) < 0) {
            PyObject *type, *value, *traceback;
            PyErr_Fetch(&type, &value, &traceback);
            (void)PyList_SetSlice(completed, before, PyList_GET_SIZE(completed), NULL);
            PyErr_Restore(type, value, traceback);
            Py_DECREF(action_id);
            return NULL;
        }
        Py_DECREF(action_id);
    }
    return PyLong_FromSsize_t(index < PyList_GET_SIZE(items) ? index : PyList_GET_SIZE(items));
}

static PyMethodDef methods[] = {
    {"dispatch", (PyCFunction)(void (*)(void))dispatch, METH_FASTCALL,
     "Run the callbacks of a batch of messages, pausing at a result that is not None."},
    {"all_instances", (PyCFunction)(void (*)(void))all_instances, METH_FASTCALL,
     "Whether every item of a list is an instance of a class."},
    {"route_answers", (PyCFunction)(void (*)(void))route_answers, METH_FASTCALL,
     "Pair a read's answers with their waiters, up to the first item that is not one."},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    RoutingNames *state = (RoutingNames *)PyModule_GetState(module);
    state->orphan_name = PyUnicode_InternFromString("orphan");
    state->action_id_name = PyUnicode_InternFromString("action_id");
    return state->orphan_name == NULL || state->action_id_name == NULL ? -1 : 0;
}

static int
module_clear(PyObject *module)
{
    RoutingNames *state = (RoutingNames *)PyModule_GetState(module);
    if (state != NULL) {
        Py_CLEAR(state->orphan_name);
        Py_CLEAR(state->action_id_name);
    }
    return 0;
}

static void
module_free(void *module)
{
    module_clear((PyObject *)module);
}

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
    .m_name = "amiproto_transports._dispatch",
    .m_doc = "Optional C version of the clients' dispatch loop and routing.",
    .m_size = sizeof(RoutingNames),
    .m_methods = methods,
    .m_slots = slots,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__dispatch(void)
{
    return PyModuleDef_Init(&module_def);
}
