/*
 * dmp_desktop.dmp._ebrimscan: an ITI-18 answer read by libxml2's SAX2 push parser,
 * without building a tree (the list path's compiled reader, issue #16).
 *
 * Each rim:ExtrinsicObject becomes a "projection": plain Python tuples of
 * what dmp_desktop.dmp.xds reads from an entry (its attributes, slots, classifications,
 * external identifiers, first Name, first Description, first VersionInfo). What a
 * projection holds, and how, is defined by xds.project_extrinsic_object, the pure-Python
 * reading of an lxml element; this module must give exactly the same tuples (tested).
 *
 * Everything outside the entries is written back as XML (the "skeleton"), each entry
 * replaced by an empty <ExtrinsicObject xmlns="...rim:3.0"/>, so that the envelope,
 * the WS-Addressing headers, the registry's errors and each entry's place are checked
 * by the same lxml code as before, on a few kilobytes.
 *
 * Refused (ScanError): malformed XML, any DTD (the parser is stopped at <!DOCTYPE),
 * any entity other than the predefined ones, more than max_entry bytes of content in
 * one entry, an ExtrinsicObject inside another one.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

static const char RIM[] = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
static const char PLACEHOLDER[] =
    "<ExtrinsicObject xmlns=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\"/>";

enum {
    T_OTHER, T_EO, T_SLOT, T_VALUE_LIST, T_VALUE, T_NAME, T_DESCRIPTION, T_LOCALIZED,
    T_CLASSIFICATION, T_EXTERNAL_ID, T_VERSION_INFO
};

enum { E_NONE, E_MALFORMED, E_DTD, E_TOO_LARGE, E_NESTED, E_PYTHON };

#define MAX_REL 8 /* relative depths inside an entry that can matter (EO = 1) */
#define MAX_DEPTH 256 /* libxml2's own bound without XML_PARSE_HUGE (not enforced by 2.9's
                         push parser when no tree is built): lxml refuses deeper */

static PyObject *ScanError;

/* Strings made once per answer: most values repeat from entry to entry (slot names,
   classification schemes, codes and their labels, authors). A direct-mapped cache of
   short strings: a hit returns the same str object (its hash already computed). */
#define CACHE_SLOTS 8192
#define CACHE_MAX_LEN 160
typedef struct {
    uint64_t hash;
    PyObject *str; /* NULL: empty slot */
} CacheSlot;

typedef struct {
    char *data;
    size_t len, cap;
} Buffer;

typedef struct {
    PyObject_HEAD
    xmlParserCtxtPtr ctxt;
    int error;
    CacheSlot *cache;
    Buffer skeleton;
    Buffer text;              /* a Value's text being read */
    PyObject *entries;        /* projections completed since the last feed */
    size_t max_entry;
    int depth;                /* depth of the current element in the document */
    int entry_depth;          /* depth of the entry's ExtrinsicObject, 0 outside entries */
    size_t entry_size;
    int types[MAX_REL + 1];   /* element types by depth relative to the entry */
    /* the entry being read */
    PyObject *attrs, *slots, *classifications, *external, *name, *description, *version;
    int name_seen, description_seen, version_seen;
    /* the current slot (of the entry or of a classification) */
    PyObject *slot_name, *values;
    int values_done, collecting;
    /* the current Value */
    int capturing, text_closed, in_value;
    /* the current classification */
    PyObject *c_scheme, *c_rep, *c_display, *c_slots;
    int c_name_seen;
    /* the first LocalizedString of a Name / Description being read: 1 name, 2 description,
       3 the classification's Name; 0 none */
    int localized_target;
} Scanner;

/* --- small helpers -------------------------------------------------------------------- */

static int buf_add(Buffer *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *grown = PyMem_Realloc(b->data, cap);
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static int buf_str(Buffer *b, const char *s) { return buf_add(b, s, strlen(s)); }

static int buf_escaped(Buffer *b, const xmlChar *s, size_t n, int attribute) {
    size_t start = 0, i;
    for (i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '\r': rep = "&#13;"; break;
            case '"': if (attribute) rep = "&quot;"; break;
            case '\t': if (attribute) rep = "&#9;"; break;
            case '\n': if (attribute) rep = "&#10;"; break;
            default: break;
        }
        if (rep) {
            if (buf_add(b, (const char *)s + start, i - start) < 0 || buf_str(b, rep) < 0) return -1;
            start = i + 1;
        }
    }
    return buf_add(b, (const char *)s + start, n - start);
}

static void fail(Scanner *self, int error) {
    if (self->error == E_NONE) self->error = error;
    if (self->ctxt) xmlStopParser(self->ctxt);
}

static uint64_t hash_bytes(const unsigned char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n, w;
    while (n >= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001B3ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x100000001B3ull;
    return h ^ (h >> 32);
}

/* The text of ``n`` UTF-8 bytes as a str (a new reference). */
static PyObject *str_of(Scanner *self, const xmlChar *s, size_t n) {
    uint64_t hash;
    CacheSlot *slot;
    PyObject *made;
    if (n > CACHE_MAX_LEN || self->cache == NULL)
        return PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)n, "strict");
    hash = hash_bytes(s, n);
    slot = &self->cache[hash & (CACHE_SLOTS - 1)];
    if (slot->str != NULL && slot->hash == hash) {
        Py_ssize_t size;
        const char *utf8 = PyUnicode_AsUTF8AndSize(slot->str, &size);
        if (utf8 != NULL && (size_t)size == n && memcmp(utf8, s, n) == 0) {
            Py_INCREF(slot->str);
            return slot->str;
        }
        if (utf8 == NULL) PyErr_Clear();
    }
    made = PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)n, "strict");
    if (made != NULL) {
        Py_INCREF(made);
        Py_XSETREF(slot->str, made);
        slot->hash = hash;
    }
    return made;
}

/* The value of the unqualified attribute ``name`` (a new reference), or None. */
static PyObject *attribute(Scanner *self, int nb, const xmlChar **attributes, const char *name) {
    int i;
    for (i = 0; i < nb; i++) {
        const xmlChar **a = attributes + 5 * i;
        if (a[2] == NULL && strcmp((const char *)a[0], name) == 0)
            return str_of(self, a[3], (size_t)(a[4] - a[3]));
    }
    Py_RETURN_NONE;
}

static int type_of(const xmlChar *localname, const xmlChar *uri) {
    const char *n = (const char *)localname;
    if (uri == NULL || strcmp((const char *)uri, RIM) != 0) return T_OTHER;
    switch (n[0]) {
        case 'S': if (strcmp(n, "Slot") == 0) return T_SLOT; break;
        case 'V':
            if (strcmp(n, "ValueList") == 0) return T_VALUE_LIST;
            if (strcmp(n, "Value") == 0) return T_VALUE;
            if (strcmp(n, "VersionInfo") == 0) return T_VERSION_INFO;
            break;
        case 'N': if (strcmp(n, "Name") == 0) return T_NAME; break;
        case 'D': if (strcmp(n, "Description") == 0) return T_DESCRIPTION; break;
        case 'L': if (strcmp(n, "LocalizedString") == 0) return T_LOCALIZED; break;
        case 'C': if (strcmp(n, "Classification") == 0) return T_CLASSIFICATION; break;
        case 'E':
            if (strcmp(n, "ExternalIdentifier") == 0) return T_EXTERNAL_ID;
            if (strcmp(n, "ExtrinsicObject") == 0) return T_EO;
            break;
        default: break;
    }
    return T_OTHER;
}

static void clear_entry(Scanner *self) {
    Py_CLEAR(self->attrs);
    Py_CLEAR(self->slots);
    Py_CLEAR(self->classifications);
    Py_CLEAR(self->external);
    Py_CLEAR(self->name);
    Py_CLEAR(self->description);
    Py_CLEAR(self->version);
    Py_CLEAR(self->slot_name);
    Py_CLEAR(self->values);
    Py_CLEAR(self->c_scheme);
    Py_CLEAR(self->c_rep);
    Py_CLEAR(self->c_display);
    Py_CLEAR(self->c_slots);
    self->name_seen = self->description_seen = self->version_seen = 0;
    self->values_done = self->collecting = 0;
    self->capturing = self->text_closed = self->in_value = 0;
    self->c_name_seen = 0;
    self->localized_target = 0;
}

/* --- the skeleton ---------------------------------------------------------------------- */

static int write_qname(Buffer *b, const xmlChar *prefix, const xmlChar *localname) {
    if (prefix) {
        if (buf_str(b, (const char *)prefix) < 0 || buf_add(b, ":", 1) < 0) return -1;
    }
    return buf_str(b, (const char *)localname);
}

static int write_start(Scanner *self, const xmlChar *localname, const xmlChar *prefix,
                       int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                       const xmlChar **attributes) {
    Buffer *b = &self->skeleton;
    int i;
    if (buf_add(b, "<", 1) < 0 || write_qname(b, prefix, localname) < 0) return -1;
    for (i = 0; i < nb_namespaces; i++) {
        const xmlChar *p = namespaces[2 * i], *uri = namespaces[2 * i + 1];
        if (buf_str(b, p ? " xmlns:" : " xmlns") < 0) return -1;
        if (p && buf_str(b, (const char *)p) < 0) return -1;
        if (buf_add(b, "=\"", 2) < 0) return -1;
        if (uri && buf_escaped(b, uri, strlen((const char *)uri), 1) < 0) return -1;
        if (buf_add(b, "\"", 1) < 0) return -1;
    }
    for (i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attributes + 5 * i;
        if (buf_add(b, " ", 1) < 0 || write_qname(b, a[1], a[0]) < 0) return -1;
        if (buf_add(b, "=\"", 2) < 0) return -1;
        if (buf_escaped(b, a[3], (size_t)(a[4] - a[3]), 1) < 0) return -1;
        if (buf_add(b, "\"", 1) < 0) return -1;
    }
    return buf_add(b, ">", 1);
}

/* --- SAX callbacks --------------------------------------------------------------------- */

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted, const xmlChar **attributes) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    Scanner *self = (Scanner *)ctxt->_private;
    int type, rel, parent, i;
    (void)nb_defaulted;
    if (self->error) return;
    self->depth++;
    if (self->depth > MAX_DEPTH) { fail(self, E_MALFORMED); return; }
    type = type_of(localname, uri);
    if (self->entry_depth == 0) {
        if (type != T_EO) {
            if (write_start(self, localname, prefix, nb_namespaces, namespaces, nb_attributes,
                            attributes) < 0)
                fail(self, E_PYTHON);
            return;
        }
        /* an entry begins */
        clear_entry(self);
        self->entry_depth = self->depth;
        self->entry_size = 64;
        self->types[1] = T_EO;
        self->attrs = PyTuple_New(5);
        self->slots = PyList_New(0);
        self->classifications = PyList_New(0);
        self->external = PyList_New(0);
        if (!self->attrs || !self->slots || !self->classifications || !self->external) {
            fail(self, E_PYTHON);
            return;
        }
        {
            static const char *names[5] = {"id", "lid", "objectType", "mimeType", "status"};
            for (i = 0; i < 5; i++) {
                PyObject *v = attribute(self, nb_attributes, attributes, names[i]);
                if (!v) { fail(self, E_PYTHON); return; }
                PyTuple_SET_ITEM(self->attrs, i, v);
            }
        }
        return;
    }
    /* inside an entry */
    rel = self->depth - self->entry_depth + 1;
    self->entry_size += 64;
    for (i = 0; i < nb_attributes; i++)
        self->entry_size += (size_t)(attributes[5 * i + 4] - attributes[5 * i + 3]) + 32;
    if (self->entry_size > self->max_entry) { fail(self, E_TOO_LARGE); return; }
    if (type == T_EO) { fail(self, E_NESTED); return; }
    if (self->capturing) { self->capturing = 0; self->text_closed = 1; }
    if (rel > MAX_REL) return;
    self->types[rel] = type;
    parent = self->types[rel - 1];
    if (rel == 2) {
        switch (type) {
            case T_SLOT:
                Py_CLEAR(self->slot_name);
                Py_CLEAR(self->values);
                self->slot_name = attribute(self, nb_attributes, attributes, "name");
                self->values = PyList_New(0);
                if (!self->slot_name || !self->values) fail(self, E_PYTHON);
                self->values_done = 0;
                break;
            case T_CLASSIFICATION:
                Py_CLEAR(self->c_scheme);
                Py_CLEAR(self->c_rep);
                Py_CLEAR(self->c_display);
                Py_CLEAR(self->c_slots);
                self->c_scheme = attribute(self, nb_attributes, attributes, "classificationScheme");
                self->c_rep = attribute(self, nb_attributes, attributes, "nodeRepresentation");
                self->c_slots = PyList_New(0);
                Py_INCREF(Py_None);
                self->c_display = Py_None;
                self->c_name_seen = 0;
                if (!self->c_scheme || !self->c_rep || !self->c_slots) fail(self, E_PYTHON);
                break;
            case T_EXTERNAL_ID: {
                PyObject *scheme = attribute(self, nb_attributes, attributes, "identificationScheme");
                PyObject *value = scheme ? attribute(self, nb_attributes, attributes, "value") : NULL;
                PyObject *pair = value ? PyTuple_Pack(2, scheme, value) : NULL;
                if (!pair || PyList_Append(self->external, pair) < 0) fail(self, E_PYTHON);
                Py_XDECREF(scheme);
                Py_XDECREF(value);
                Py_XDECREF(pair);
                break;
            }
            case T_NAME:
                if (!self->name_seen) { self->name_seen = 1; self->localized_target = 1; }
                break;
            case T_DESCRIPTION:
                if (!self->description_seen) {
                    self->description_seen = 1;
                    self->localized_target = 2;
                }
                break;
            case T_VERSION_INFO:
                if (!self->version_seen) {
                    self->version_seen = 1;
                    self->version = attribute(self, nb_attributes, attributes, "versionName");
                    if (!self->version) fail(self, E_PYTHON);
                }
                break;
            default: break;
        }
        return;
    }
    if (type == T_LOCALIZED && self->localized_target && rel >= 3) {
        int grand = self->types[rel - 1];
        /* the first LocalizedString child of the first Name / Description (rel 3), or of
           the classification's first Name (rel 4) */
        if ((rel == 3 && (grand == T_NAME || grand == T_DESCRIPTION)) ||
            (rel == 4 && grand == T_NAME && self->types[2] == T_CLASSIFICATION)) {
            PyObject *v = attribute(self, nb_attributes, attributes, "value");
            if (!v) { fail(self, E_PYTHON); return; }
            if (self->localized_target == 1) { Py_XSETREF(self->name, v); }
            else if (self->localized_target == 2) { Py_XSETREF(self->description, v); }
            else { Py_XSETREF(self->c_display, v); }
            self->localized_target = 0;
        }
        return;
    }
    if (rel == 3) {
        if (parent == T_SLOT && type == T_VALUE_LIST && !self->values_done) {
            self->collecting = 1;
        } else if (parent == T_CLASSIFICATION && type == T_SLOT) {
            Py_CLEAR(self->slot_name);
            Py_CLEAR(self->values);
            self->slot_name = attribute(self, nb_attributes, attributes, "name");
            self->values = PyList_New(0);
            if (!self->slot_name || !self->values) fail(self, E_PYTHON);
            self->values_done = 0;
        } else if (parent == T_CLASSIFICATION && type == T_NAME && !self->c_name_seen) {
            self->c_name_seen = 1;
            self->localized_target = 3;
        }
        return;
    }
    if (rel == 4) {
        if (self->types[2] == T_SLOT && parent == T_VALUE_LIST && type == T_VALUE &&
            self->collecting) {
            self->in_value = self->capturing = 1;
            self->text_closed = 0;
            self->text.len = 0;
        } else if (self->types[2] == T_CLASSIFICATION && parent == T_SLOT &&
                   type == T_VALUE_LIST && !self->values_done) {
            self->collecting = 1;
        }
        return;
    }
    if (rel == 5 && self->types[2] == T_CLASSIFICATION && self->types[3] == T_SLOT &&
        parent == T_VALUE_LIST && type == T_VALUE && self->collecting) {
        self->in_value = self->capturing = 1;
        self->text_closed = 0;
        self->text.len = 0;
    }
}

static void append_slot(Scanner *self, PyObject *owner) {
    PyObject *values = PyList_AsTuple(self->values);
    PyObject *pair = values ? PyTuple_Pack(2, self->slot_name, values) : NULL;
    if (!pair || PyList_Append(owner, pair) < 0) fail(self, E_PYTHON);
    Py_XDECREF(values);
    Py_XDECREF(pair);
    Py_CLEAR(self->slot_name);
    Py_CLEAR(self->values);
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                   const xmlChar *uri) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    Scanner *self = (Scanner *)ctxt->_private;
    int rel, type;
    (void)uri;
    if (self->error) return;
    if (self->entry_depth == 0) {
        Buffer *b = &self->skeleton;
        if (buf_add(b, "</", 2) < 0 || write_qname(b, prefix, localname) < 0 ||
            buf_add(b, ">", 1) < 0)
            fail(self, E_PYTHON);
        self->depth--;
        return;
    }
    rel = self->depth - self->entry_depth + 1;
    self->depth--;
    if (rel == 1) {
        /* the entry is complete */
        PyObject *slots = PyList_AsTuple(self->slots);
        PyObject *classifications = PyList_AsTuple(self->classifications);
        PyObject *external = PyList_AsTuple(self->external);
        PyObject *projection =
            slots && classifications && external
                ? Py_BuildValue("(OOOOOOO)", self->attrs, slots, classifications, external,
                                self->name ? self->name : Py_None,
                                self->description ? self->description : Py_None,
                                self->version ? self->version : Py_None)
                : NULL;
        if (!projection || PyList_Append(self->entries, projection) < 0) fail(self, E_PYTHON);
        Py_XDECREF(slots);
        Py_XDECREF(classifications);
        Py_XDECREF(external);
        Py_XDECREF(projection);
        clear_entry(self);
        self->entry_depth = 0;
        if (buf_str(&self->skeleton, PLACEHOLDER) < 0) fail(self, E_PYTHON);
        return;
    }
    if (rel > MAX_REL) return;
    type = self->types[rel];
    if (type == T_VALUE && self->in_value && ((rel == 4 && self->types[2] == T_SLOT) ||
                                               (rel == 5 && self->types[2] == T_CLASSIFICATION))) {
        PyObject *text = str_of(self, (const xmlChar *)self->text.data, self->text.len);
        if (!text || PyList_Append(self->values, text) < 0) fail(self, E_PYTHON);
        Py_XDECREF(text);
        self->in_value = self->capturing = self->text_closed = 0;
        self->text.len = 0;
        return;
    }
    if (type == T_VALUE_LIST && self->collecting &&
        ((rel == 3 && self->types[2] == T_SLOT) ||
         (rel == 4 && self->types[2] == T_CLASSIFICATION && self->types[3] == T_SLOT))) {
        self->collecting = 0;
        self->values_done = 1;
        return;
    }
    if (type == T_SLOT && rel == 2) { append_slot(self, self->slots); return; }
    if (type == T_SLOT && rel == 3 && self->types[2] == T_CLASSIFICATION) {
        append_slot(self, self->c_slots);
        return;
    }
    if ((type == T_NAME || type == T_DESCRIPTION) && (rel == 2 || rel == 3)) {
        self->localized_target = 0; /* a Name without LocalizedString: nothing more to find */
        return;
    }
    if (type == T_CLASSIFICATION && rel == 2) {
        PyObject *inner = PyList_AsTuple(self->c_slots);
        PyObject *c = inner ? PyTuple_Pack(4, self->c_scheme, self->c_rep, self->c_display, inner)
                            : NULL;
        if (!c || PyList_Append(self->classifications, c) < 0) fail(self, E_PYTHON);
        Py_XDECREF(inner);
        Py_XDECREF(c);
        Py_CLEAR(self->c_scheme);
        Py_CLEAR(self->c_rep);
        Py_CLEAR(self->c_display);
        Py_CLEAR(self->c_slots);
    }
}

static void on_characters(void *ctx, const xmlChar *ch, int len) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    Scanner *self = (Scanner *)ctxt->_private;
    if (self->error) return;
    if (self->entry_depth == 0) {
        if (self->depth > 0 && buf_escaped(&self->skeleton, ch, (size_t)len, 0) < 0)
            fail(self, E_PYTHON);
        return;
    }
    self->entry_size += (size_t)len;
    if (self->entry_size > self->max_entry) { fail(self, E_TOO_LARGE); return; }
    if (self->capturing && buf_add(&self->text, (const char *)ch, (size_t)len) < 0)
        fail(self, E_PYTHON);
}

static void on_comment(void *ctx, const xmlChar *value) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    Scanner *self = (Scanner *)ctxt->_private;
    (void)value;
    /* lxml keeps comments as nodes: a Value's text stops at its first comment */
    if (self->capturing) { self->capturing = 0; self->text_closed = 1; }
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    (void)name; (void)external_id; (void)system_id;
    fail((Scanner *)ctxt->_private, E_DTD);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    (void)name; (void)type; (void)public_id; (void)system_id; (void)content;
    fail((Scanner *)ctxt->_private, E_DTD);
}

static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    xmlEntityPtr predefined = xmlGetPredefinedEntity(name);
    /* without a DTD, any other entity is undeclared: a well-formedness error */
    if (predefined == NULL) fail((Scanner *)ctxt->_private, E_MALFORMED);
    return predefined;
}

static void on_reference(void *ctx, const xmlChar *name) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    (void)name;
    fail((Scanner *)ctxt->_private, E_MALFORMED);
}

static void on_structured_error(void *ctx, xmlErrorPtr error) {
    /* silent: the outcome is read from the parser's state */
    (void)ctx; (void)error;
}

static void on_silent(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }

/* --- the Python type ------------------------------------------------------------------- */

static int scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    static char *keywords[] = {"max_entry", NULL};
    Py_ssize_t max_entry = 4 << 20;
    xmlSAXHandler sax;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n", keywords, &max_entry)) return -1;
    if (self->ctxt) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner already initialised");
        return -1;
    }
    self->max_entry = (size_t)max_entry;
    self->entries = PyList_New(0);
    if (!self->entries) return -1;
    self->cache = PyMem_Calloc(CACHE_SLOTS, sizeof(CacheSlot));
    if (!self->cache) {
        PyErr_NoMemory();
        return -1;
    }
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_characters;
    sax.ignorableWhitespace = on_characters;
    sax.cdataBlock = on_characters;
    sax.comment = on_comment;
    sax.internalSubset = on_internal_subset;
    sax.externalSubset = on_internal_subset;
    sax.entityDecl = on_entity_decl;
    sax.getEntity = on_get_entity;
    sax.getParameterEntity = on_get_entity;
    sax.reference = on_reference;
    sax.serror = on_structured_error;
    sax.warning = on_silent;
    sax.error = on_silent;
    sax.fatalError = on_silent;
    self->ctxt = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, NULL);
    if (!self->ctxt) {
        PyErr_NoMemory();
        return -1;
    }
    /* XML_PARSE_NOENT only so that attribute values arrive decoded (without it libxml2
       2.9 hands "&" over as "&#38;" for the tree builder to decode): no entity but the five
       predefined ones can exist here, since a DTD stops the parser at <!DOCTYPE and any
       declaration or other reference is refused (on_internal_subset, on_entity_decl,
       on_get_entity). XML_PARSE_NONET: nothing is ever fetched. */
    xmlCtxtUseOptions(self->ctxt, XML_PARSE_NOENT | XML_PARSE_NONET | XML_PARSE_NOCDATA);
    self->ctxt->_private = self;
    self->ctxt->userData = self->ctxt; /* callbacks receive the context */
    return 0;
}

static void scanner_dealloc(Scanner *self) {
    if (self->ctxt) {
        xmlFreeParserCtxt(self->ctxt);
        self->ctxt = NULL;
    }
    clear_entry(self);
    Py_CLEAR(self->entries);
    if (self->cache) {
        int i;
        for (i = 0; i < CACHE_SLOTS; i++) Py_XDECREF(self->cache[i].str);
        PyMem_Free(self->cache);
        self->cache = NULL;
    }
    PyMem_Free(self->skeleton.data);
    PyMem_Free(self->text.data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* (skeleton bytes, entries) made since the last call, or ScanError. */
static PyObject *outcome(Scanner *self, int status) {
    PyObject *skeleton, *entries, *result;
    if (self->error == E_NONE &&
        (status != 0 || !self->ctxt->wellFormed || !self->ctxt->nsWellFormed))
        self->error = E_MALFORMED;
    if (self->error != E_NONE) {
        if (self->error == E_PYTHON && PyErr_Occurred()) return NULL;
        PyErr_SetString(ScanError,
                        self->error == E_DTD         ? "DTD or entity declaration refused"
                        : self->error == E_TOO_LARGE ? "document too large"
                        : self->error == E_NESTED    ? "nested entry"
                                                     : "malformed XML");
        return NULL;
    }
    skeleton = PyBytes_FromStringAndSize(self->skeleton.data ? self->skeleton.data : "",
                                         (Py_ssize_t)self->skeleton.len);
    if (!skeleton) return NULL;
    self->skeleton.len = 0;
    entries = self->entries;
    self->entries = PyList_New(0);
    if (!self->entries) {
        self->entries = entries;
        Py_DECREF(skeleton);
        return NULL;
    }
    result = PyTuple_Pack(2, skeleton, entries);
    Py_DECREF(skeleton);
    Py_DECREF(entries);
    return result;
}

static PyObject *scanner_feed(Scanner *self, PyObject *arg) {
    Py_buffer view;
    int status;
    PyObject *result;
    if (!self->ctxt) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner not initialised");
        return NULL;
    }
    if (self->error != E_NONE) return outcome(self, 0);
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len > INT_MAX) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "piece too large");
        return NULL;
    }
    status = xmlParseChunk(self->ctxt, (const char *)view.buf, (int)view.len, 0);
    PyBuffer_Release(&view);
    result = outcome(self, status);
    return result;
}

static PyObject *scanner_close(Scanner *self, PyObject *unused) {
    int status;
    (void)unused;
    if (!self->ctxt) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner not initialised");
        return NULL;
    }
    if (self->error != E_NONE) return outcome(self, 0);
    status = xmlParseChunk(self->ctxt, NULL, 0, 1);
    if (self->error == E_NONE && self->depth != 0) self->error = E_MALFORMED;
    return outcome(self, status);
}

static PyMethodDef scanner_methods[] = {
    {"feed", (PyCFunction)scanner_feed, METH_O,
     "feed(bytes) -> (skeleton bytes, [projection, ...]) completed meanwhile."},
    {"close", (PyCFunction)scanner_close, METH_NOARGS,
     "close() -> (skeleton bytes, [projection, ...]): the end of the input."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "dmp_desktop.dmp._ebrimscan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An ITI-18 answer read by libxml2's SAX2 push parser (see the module).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)scanner_init,
    .tp_dealloc = (destructor)scanner_dealloc,
    .tp_methods = scanner_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ebrimscan",
    "ITI-18 answers read without a tree by libxml2's SAX2 parser.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__ebrimscan(void) {
    PyObject *m;
    xmlInitParser();
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    m = PyModule_Create(&module);
    if (!m) return NULL;
    ScanError = PyErr_NewException("dmp_desktop.dmp._ebrimscan.ScanError", PyExc_ValueError,
                                   NULL);
    if (!ScanError || PyModule_AddObject(m, "ScanError", ScanError) < 0) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) return NULL;
    if (PyModule_AddStringConstant(m, "LIBXML_VERSION", xmlParserVersion) < 0) return NULL;
    return m;
}
