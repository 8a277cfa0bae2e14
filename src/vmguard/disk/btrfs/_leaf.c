/* The item table of a btrfs leaf, parsed in one call: vmguard.disk.btrfs.tree's
 * ``_parse`` uses it when the compiled build is in use (see vmguard.native); the same
 * parse in Python is the fallback, and tests/disk/btrfs/test_btrfs_leaf.py holds both to
 * the same answers on real and mutated leaves.
 *
 * A leaf is a 101-byte header, then ``count`` 25-byte items (key: objectid u64, type u8,
 * offset u64; then the payload's offset u32 and size u32, from the end of the header),
 * little endian. Every bound is checked here before a byte is read; an item whose payload
 * ends past ``body`` bytes after the header makes the call return None (the caller names
 * the leaf at fault). Keys are built as tuples of three ints and left untracked by the
 * cycle collector (they hold numbers only, as CPython's own tuple untracking requires). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define ITEM_SIZE 25

static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static PyObject *make_key(const unsigned char *p) {
    PyObject *key = PyTuple_New(3);
    if (key == NULL) {
        return NULL;
    }
    PyObject *objectid = PyLong_FromUnsignedLongLong(le64(p));
    PyObject *type = PyLong_FromLong(p[8]);
    PyObject *offset = PyLong_FromUnsignedLongLong(le64(p + 9));
    if (objectid == NULL || type == NULL || offset == NULL) {
        Py_XDECREF(objectid);
        Py_XDECREF(type);
        Py_XDECREF(offset);
        Py_DECREF(key);
        return NULL;
    }
    PyTuple_SET_ITEM(key, 0, objectid);
    PyTuple_SET_ITEM(key, 1, type);
    PyTuple_SET_ITEM(key, 2, offset);
    PyObject_GC_UnTrack(key);
    return key;
}

/* parse_items(raw: bytes, header: int, count: int, body: int)
 *   -> tuple[tuple[tuple[int, int, int], ...], tuple[bytes, ...]] | None */
static PyObject *parse_items(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 4 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "parse_items(raw: bytes, header, count, body)");
        return NULL;
    }
    Py_ssize_t bounds[3];
    for (int i = 0; i < 3; i++) {
        bounds[i] = PyLong_AsSsize_t(args[i + 1]);
        if (bounds[i] == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    Py_ssize_t header = bounds[0], count = bounds[1], body = bounds[2];
    const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    if (header < 0 || count < 0 || body < 0 || header > size || body > size - header ||
        count > (size - header) / ITEM_SIZE) {
        PyErr_SetString(PyExc_ValueError, "leaf bounds outside the block");
        return NULL;
    }
    PyObject *keys = PyTuple_New(count);
    PyObject *items = PyTuple_New(count);
    if (keys == NULL || items == NULL) {
        Py_XDECREF(keys);
        Py_XDECREF(items);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        const unsigned char *row = raw + header + i * ITEM_SIZE;
        uint64_t start = le32(row + 17);
        uint64_t stop = start + le32(row + 21);
        if (stop > (uint64_t)body) {
            Py_DECREF(keys);
            Py_DECREF(items);
            Py_RETURN_NONE;
        }
        PyObject *key = make_key(row);
        PyObject *item = PyBytes_FromStringAndSize(
            (const char *)raw + header + (Py_ssize_t)start, (Py_ssize_t)(stop - start));
        if (key == NULL || item == NULL) {
            Py_XDECREF(key);
            Py_XDECREF(item);
            Py_DECREF(keys);
            Py_DECREF(items);
            return NULL;
        }
        PyTuple_SET_ITEM(keys, i, key);
        PyTuple_SET_ITEM(items, i, item);
    }
    PyObject_GC_UnTrack(keys);
    PyObject_GC_UnTrack(items);
    PyObject *result = PyTuple_Pack(2, keys, items);
    Py_DECREF(keys);
    Py_DECREF(items);
    return result;
}

static PyMethodDef methods[] = {
    {"parse_items", (PyCFunction)(void (*)(void))parse_items, METH_FASTCALL,
     "The keys and payloads of a btrfs leaf's items; None when a payload lies out of "
     "bounds."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "vmguard.disk.btrfs._leaf",
    "Parses the item table of a btrfs leaf in one call.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__leaf(void) { return PyModule_Create(&module); }
