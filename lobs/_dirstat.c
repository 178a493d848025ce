/* lobs._dirstat: list one directory with lstat() of every entry, GIL released.
 *
 * list_dir(path) -> (rows, stats)
 *   rows:  list of (name, st_mode, key), key the 32 bytes "<QQQQ" of (st_size,
 *          st_mtime_ns, st_ctime_ns, st_ino), each modulo 2**64: what lobs keeps per
 *          file (one bytes object, not four ints)
 *   stats: bytes, the same numbers and the mode packed per row, in row order,
 *          little-endian "<QQQQI" (size, mtime_ns, ctime_ns, ino, mode): 36 bytes a
 *          row, so that a caller can fingerprint a whole folder without touching each row
 *
 * The optional accelerator of lobs/scan.py (which falls back to os.scandir when this
 * module is not built). It reads no file contents and follows no link. While it reads
 * the directory and calls fstatat() for each entry it holds no Python lock, so several
 * threads can walk several directories at once. Entries that vanish between readdir()
 * and fstatat() are left out. Raises OSError (PermissionError, FileNotFoundError, ...)
 * with errno and the path when the directory cannot be opened or read, or an entry
 * cannot be stat'ed for another reason. Names are decoded as os.fsdecode does
 * (surrogateescape), so they round-trip like os.scandir's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    size_t name_off;
    size_t name_len;
    unsigned int mode;
    unsigned long long size;
    unsigned long long mtime_ns;  /* modulo 2**64: well defined for any time */
    unsigned long long ctime_ns;
    unsigned long long ino;
} Rec;

typedef struct {
    Rec *recs;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    int err;          /* errno of the first failure, 0 if none */
} Listing;

#define STAT_SIZE 36
#define KEY_SIZE 32

static void put_le(unsigned char *p, unsigned long long v, int n) {
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static int grow(void **buf, size_t *cap, size_t need, size_t unit) {
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) ncap *= 2;
    void *nb = realloc(*buf, ncap * unit);
    if (!nb) return -1;
    *buf = nb;
    *cap = ncap;
    return 0;
}

/* Runs without the GIL: touches no Python object. */
static void read_dir(const char *path, Listing *out) {
    DIR *d = opendir(path);
    if (!d) { out->err = errno; return; }
    int dfd = dirfd(d);
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) { if (errno) out->err = errno; break; }
        const char *nm = e->d_name;
        if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
        struct stat st;
        if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;  /* vanished while we looked */
            out->err = errno;
            break;
        }
        size_t len = strlen(nm);
        if (grow((void **)&out->recs, &out->cap, out->n + 1, sizeof(Rec)) ||
            grow((void **)&out->names, &out->names_cap, out->names_len + len, 1)) {
            out->err = ENOMEM;
            break;
        }
        memcpy(out->names + out->names_len, nm, len);
        Rec *r = &out->recs[out->n++];
        r->name_off = out->names_len;
        r->name_len = len;
        out->names_len += len;
        r->mode = (unsigned int)st.st_mode;
        r->size = (unsigned long long)st.st_size;
        r->mtime_ns = (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st.st_mtim.tv_nsec;
        r->ctime_ns = (unsigned long long)st.st_ctim.tv_sec * 1000000000ULL + (unsigned long long)st.st_ctim.tv_nsec;
        r->ino = (unsigned long long)st.st_ino;
    }
    closedir(d);
}

static PyObject *list_dir(PyObject *self, PyObject *arg) {
    PyObject *path_bytes = NULL;
    if (!PyUnicode_FSConverter(arg, &path_bytes)) return NULL;
    const char *path = PyBytes_AS_STRING(path_bytes);
    Listing l = {0};
    Py_BEGIN_ALLOW_THREADS
    read_dir(path, &l);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (l.err) {
        errno = l.err;
        if (l.err == ENOMEM) PyErr_NoMemory();
        else PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, arg);
        goto done;
    }
    PyObject *rows = PyList_New((Py_ssize_t)l.n);
    PyObject *stats = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(l.n * STAT_SIZE));
    if (!rows || !stats) { Py_XDECREF(rows); Py_XDECREF(stats); goto done; }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(stats);
    for (size_t i = 0; i < l.n; i++) {
        Rec *r = &l.recs[i];
        unsigned char *p = out + i * STAT_SIZE;
        put_le(p, r->size, 8);
        put_le(p + 8, r->mtime_ns, 8);
        put_le(p + 16, r->ctime_ns, 8);
        put_le(p + 24, r->ino, 8);
        put_le(p + 32, r->mode, 4);
        PyObject *t = Py_BuildValue(
            "(NIy#)",
            PyUnicode_DecodeFSDefaultAndSize(l.names + r->name_off, (Py_ssize_t)r->name_len),
            r->mode, (const char *)p, (Py_ssize_t)KEY_SIZE);
        if (!t) { Py_DECREF(rows); Py_DECREF(stats); goto done; }
        PyList_SET_ITEM(rows, (Py_ssize_t)i, t);
    }
    result = PyTuple_Pack(2, rows, stats);
    Py_DECREF(rows);
    Py_DECREF(stats);
done:
    free(l.recs);
    free(l.names);
    Py_DECREF(path_bytes);
    return result;
}

static PyMethodDef methods[] = {
    {"list_dir", list_dir, METH_O,
     "list_dir(path) -> ([(name, st_mode, key '<QQQQ' of size, mtime_ns, ctime_ns, ino)], "
     "packed stats '<QQQQI' per row), lstat of every entry, without the GIL. Raises OSError."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_dirstat", NULL, -1, methods};

PyMODINIT_FUNC PyInit__dirstat(void) { return PyModule_Create(&module); }
