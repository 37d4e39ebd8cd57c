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
 * The parse runs without the interpreter lock: the SAX callbacks only write what they
 * read into a C buffer of operations ("ops"); the Python tuples are made from it once
 * the lock is taken back, for the entries completed so far. Another Python thread (the
 * one receiving the next bytes, the window's) runs meanwhile.
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

enum { E_NONE, E_MALFORMED, E_DTD, E_TOO_LARGE, E_NESTED, E_NO_MEMORY };

/* The operations written by the callbacks (one byte each, then their strings: a 4-byte
   length and the UTF-8 bytes, or NONE for an absent attribute). */
enum {
    OP_ENTRY,        /* 5 strings: id, lid, objectType, mimeType, status */
    OP_SLOT,         /* its name */
    OP_VALUE,        /* a Value's text */
    OP_SLOT_END,
    OP_CLASS,        /* classificationScheme, nodeRepresentation */
    OP_CLASS_NAME,   /* the first LocalizedString value of its first Name */
    OP_CLASS_END,
    OP_EXTERNAL,     /* identificationScheme, value */
    OP_NAME,         /* the first LocalizedString value of the first Name */
    OP_DESCRIPTION,  /* ... of the first Description */
    OP_VERSION,      /* the first VersionInfo's versionName */
    OP_ENTRY_END
};
#define NONE 0xFFFFFFFFu

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
    int busy;                 /* a feed or close is running (the lock released) */
    CacheSlot *cache;
    Buffer skeleton;
    Buffer text;              /* a Value's text being read */
    Buffer ops;               /* what the callbacks read, for the entries (see OP_*) */
    size_t ops_done;          /* ops up to the end of the last complete entry */
    size_t max_entry;
    int depth;                /* depth of the current element in the document */
    int entry_depth;          /* depth of the entry's ExtrinsicObject, 0 outside entries */
    size_t entry_size;
    int types[MAX_REL + 1];   /* element types by depth relative to the entry */
    int name_seen, description_seen, version_seen;
    int values_done, collecting;   /* the current slot's first ValueList */
    int capturing, in_value;       /* the current Value's text */
    int c_name_seen;               /* the current classification's first Name */
    /* the first LocalizedString of a Name / Description being read: OP_NAME,
       OP_DESCRIPTION or OP_CLASS_NAME; 0 none */
    int localized_target;
} Scanner;

/* --- small helpers -------------------------------------------------------------------- */

static int buf_add(Buffer *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *grown = PyMem_RawRealloc(b->data, cap); /* no interpreter lock needed */
        if (!grown) return -1;
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

/* An op's string: its length, then its bytes (NONE: absent). */
static int op_string(Scanner *self, const xmlChar *s, size_t n) {
    uint32_t length = s ? (uint32_t)n : NONE;
    if (s && n >= NONE) return -1;
    if (buf_add(&self->ops, (const char *)&length, 4) < 0) return -1;
    return s ? buf_add(&self->ops, (const char *)s, n) : 0;
}

static int op(Scanner *self, unsigned char code) {
    return buf_add(&self->ops, (const char *)&code, 1);
}

/* The unqualified attribute ``name`` written as an op's string (NONE when absent). */
static int op_attribute(Scanner *self, int nb, const xmlChar **attributes, const char *name) {
    int i;
    for (i = 0; i < nb; i++) {
        const xmlChar **a = attributes + 5 * i;
        if (a[2] == NULL && strcmp((const char *)a[0], name) == 0)
            return op_string(self, a[3], (size_t)(a[4] - a[3]));
    }
    return op_string(self, NULL, 0);
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
    self->name_seen = self->description_seen = self->version_seen = 0;
    self->values_done = self->collecting = 0;
    self->capturing = self->in_value = 0;
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
    int type, rel, parent, i, bad = 0;
    (void)nb_defaulted;
    if (self->error) return;
    self->depth++;
    if (self->depth > MAX_DEPTH) { fail(self, E_MALFORMED); return; }
    type = type_of(localname, uri);
    if (self->entry_depth == 0) {
        if (type != T_EO) {
            if (write_start(self, localname, prefix, nb_namespaces, namespaces, nb_attributes,
                            attributes) < 0)
                fail(self, E_NO_MEMORY);
            return;
        }
        /* an entry begins */
        clear_entry(self);
        self->entry_depth = self->depth;
        self->entry_size = 64;
        self->types[1] = T_EO;
        {
            static const char *names[5] = {"id", "lid", "objectType", "mimeType", "status"};
            bad = op(self, OP_ENTRY) < 0;
            for (i = 0; i < 5 && !bad; i++)
                bad = op_attribute(self, nb_attributes, attributes, names[i]) < 0;
        }
        if (bad) fail(self, E_NO_MEMORY);
        return;
    }
    /* inside an entry */
    rel = self->depth - self->entry_depth + 1;
    self->entry_size += 64;
    for (i = 0; i < nb_attributes; i++)
        self->entry_size += (size_t)(attributes[5 * i + 4] - attributes[5 * i + 3]) + 32;
    if (self->entry_size > self->max_entry) { fail(self, E_TOO_LARGE); return; }
    if (type == T_EO) { fail(self, E_NESTED); return; }
    self->capturing = 0; /* a Value's text stops at its first child element */
    if (rel > MAX_REL) return;
    self->types[rel] = type;
    parent = self->types[rel - 1];
    if (rel == 2) {
        switch (type) {
            case T_SLOT:
                bad = op(self, OP_SLOT) < 0 ||
                      op_attribute(self, nb_attributes, attributes, "name") < 0;
                self->values_done = 0;
                break;
            case T_CLASSIFICATION:
                bad = op(self, OP_CLASS) < 0 ||
                      op_attribute(self, nb_attributes, attributes, "classificationScheme") < 0 ||
                      op_attribute(self, nb_attributes, attributes, "nodeRepresentation") < 0;
                self->c_name_seen = 0;
                break;
            case T_EXTERNAL_ID:
                bad = op(self, OP_EXTERNAL) < 0 ||
                      op_attribute(self, nb_attributes, attributes, "identificationScheme") < 0 ||
                      op_attribute(self, nb_attributes, attributes, "value") < 0;
                break;
            case T_NAME:
                if (!self->name_seen) {
                    self->name_seen = 1;
                    self->localized_target = OP_NAME;
                }
                break;
            case T_DESCRIPTION:
                if (!self->description_seen) {
                    self->description_seen = 1;
                    self->localized_target = OP_DESCRIPTION;
                }
                break;
            case T_VERSION_INFO:
                if (!self->version_seen) {
                    self->version_seen = 1;
                    bad = op(self, OP_VERSION) < 0 ||
                          op_attribute(self, nb_attributes, attributes, "versionName") < 0;
                }
                break;
            default: break;
        }
        if (bad) fail(self, E_NO_MEMORY);
        return;
    }
    if (type == T_LOCALIZED && self->localized_target && rel >= 3) {
        int grand = self->types[rel - 1];
        /* the first LocalizedString child of the first Name / Description (rel 3), or of
           the classification's first Name (rel 4) */
        if ((rel == 3 && (grand == T_NAME || grand == T_DESCRIPTION)) ||
            (rel == 4 && grand == T_NAME && self->types[2] == T_CLASSIFICATION)) {
            if (op(self, (unsigned char)self->localized_target) < 0 ||
                op_attribute(self, nb_attributes, attributes, "value") < 0)
                fail(self, E_NO_MEMORY);
            self->localized_target = 0;
        }
        return;
    }
    if (rel == 3) {
        if (parent == T_SLOT && type == T_VALUE_LIST && !self->values_done) {
            self->collecting = 1;
        } else if (parent == T_CLASSIFICATION && type == T_SLOT) {
            if (op(self, OP_SLOT) < 0 ||
                op_attribute(self, nb_attributes, attributes, "name") < 0)
                fail(self, E_NO_MEMORY);
            self->values_done = 0;
        } else if (parent == T_CLASSIFICATION && type == T_NAME && !self->c_name_seen) {
            self->c_name_seen = 1;
            self->localized_target = OP_CLASS_NAME;
        }
        return;
    }
    if (rel == 4) {
        if (self->types[2] == T_SLOT && parent == T_VALUE_LIST && type == T_VALUE &&
            self->collecting) {
            self->in_value = self->capturing = 1;
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
        self->text.len = 0;
    }
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
            fail(self, E_NO_MEMORY);
        self->depth--;
        return;
    }
    rel = self->depth - self->entry_depth + 1;
    self->depth--;
    if (rel == 1) {
        /* the entry is complete */
        if (op(self, OP_ENTRY_END) < 0 || buf_str(&self->skeleton, PLACEHOLDER) < 0)
            fail(self, E_NO_MEMORY);
        self->ops_done = self->ops.len;
        clear_entry(self);
        self->entry_depth = 0;
        return;
    }
    if (rel > MAX_REL) return;
    type = self->types[rel];
    if (type == T_VALUE && self->in_value && ((rel == 4 && self->types[2] == T_SLOT) ||
                                               (rel == 5 && self->types[2] == T_CLASSIFICATION))) {
        if (op(self, OP_VALUE) < 0 ||
            op_string(self, (const xmlChar *)(self->text.data ? self->text.data : ""),
                      self->text.len) < 0)
            fail(self, E_NO_MEMORY);
        self->in_value = self->capturing = 0;
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
    if (type == T_SLOT && (rel == 2 || (rel == 3 && self->types[2] == T_CLASSIFICATION))) {
        if (op(self, OP_SLOT_END) < 0) fail(self, E_NO_MEMORY);
        return;
    }
    if ((type == T_NAME || type == T_DESCRIPTION) && (rel == 2 || rel == 3)) {
        self->localized_target = 0; /* a Name without LocalizedString: nothing more to find */
        return;
    }
    if (type == T_CLASSIFICATION && rel == 2) {
        if (op(self, OP_CLASS_END) < 0) fail(self, E_NO_MEMORY);
    }
}

static void on_characters(void *ctx, const xmlChar *ch, int len) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    Scanner *self = (Scanner *)ctxt->_private;
    if (self->error) return;
    if (self->entry_depth == 0) {
        if (self->depth > 0 && buf_escaped(&self->skeleton, ch, (size_t)len, 0) < 0)
            fail(self, E_NO_MEMORY);
        return;
    }
    self->entry_size += (size_t)len;
    if (self->entry_size > self->max_entry) { fail(self, E_TOO_LARGE); return; }
    if (self->capturing && buf_add(&self->text, (const char *)ch, (size_t)len) < 0)
        fail(self, E_NO_MEMORY);
}

static void on_comment(void *ctx, const xmlChar *value) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    Scanner *self = (Scanner *)ctxt->_private;
    (void)value;
    /* lxml keeps comments as nodes: a Value's text stops at its first comment */
    self->capturing = 0;
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

/* --- the tuples, with the interpreter lock ---------------------------------------------- */

/* The next op string as a str (a new reference), or None. */
static PyObject *read_string(Scanner *self, const char **p) {
    uint32_t length;
    memcpy(&length, *p, 4);
    *p += 4;
    if (length == NONE) Py_RETURN_NONE;
    *p += length;
    return str_of(self, (const xmlChar *)(*p - length), length);
}

/* Append ``item`` (stolen) to ``list``. */
static int append(PyObject *list, PyObject *item) {
    int failed = item == NULL || PyList_Append(list, item) < 0;
    Py_XDECREF(item);
    return failed ? -1 : 0;
}

/* The projections of the entries completed in the ops so far (a new list). See
   xds.Projection for their shape; the ops of an entry not yet complete are kept. */
static PyObject *take_entries(Scanner *self) {
    PyObject *entries = PyList_New(0);
    PyObject *attrs = NULL, *slots = NULL, *classes = NULL, *external = NULL;
    PyObject *name = NULL, *description = NULL, *version = NULL;
    PyObject *slot_name = NULL, *values = NULL, *c_scheme = NULL, *c_rep = NULL;
    PyObject *c_display = NULL, *c_slots = NULL;
    const char *p = self->ops.data, *end = self->ops.data + self->ops_done;
    int i, failed = 0;
    if (!entries) return NULL;
    while (p < end && !failed) {
        unsigned char code = (unsigned char)*p++;
        switch (code) {
            case OP_ENTRY:
                Py_XSETREF(attrs, PyTuple_New(5));
                Py_XSETREF(slots, PyList_New(0));
                Py_XSETREF(classes, PyList_New(0));
                Py_XSETREF(external, PyList_New(0));
                Py_CLEAR(name);
                Py_CLEAR(description);
                Py_CLEAR(version);
                if (!attrs || !slots || !classes || !external) { failed = 1; break; }
                for (i = 0; i < 5; i++) {
                    PyObject *v = read_string(self, &p);
                    if (!v) { failed = 1; break; }
                    PyTuple_SET_ITEM(attrs, i, v);
                }
                break;
            case OP_SLOT:
                Py_XSETREF(slot_name, read_string(self, &p));
                Py_XSETREF(values, PyList_New(0));
                failed = !slot_name || !values;
                break;
            case OP_VALUE:
                failed = !values || append(values, read_string(self, &p)) < 0;
                break;
            case OP_SLOT_END: {
                PyObject *owner = c_slots ? c_slots : slots;
                PyObject *tuple = values ? PyList_AsTuple(values) : NULL;
                failed = !owner || !slot_name || !tuple ||
                         append(owner, PyTuple_Pack(2, slot_name, tuple)) < 0;
                Py_XDECREF(tuple);
                Py_CLEAR(slot_name);
                Py_CLEAR(values);
                break;
            }
            case OP_CLASS:
                Py_XSETREF(c_scheme, read_string(self, &p));
                Py_XSETREF(c_rep, read_string(self, &p));
                Py_INCREF(Py_None);
                Py_XSETREF(c_display, Py_None);
                Py_XSETREF(c_slots, PyList_New(0));
                failed = !c_scheme || !c_rep || !c_slots;
                break;
            case OP_CLASS_NAME:
                Py_XSETREF(c_display, read_string(self, &p));
                failed = !c_display;
                break;
            case OP_CLASS_END: {
                PyObject *inner = c_slots ? PyList_AsTuple(c_slots) : NULL;
                failed = !classes || !inner || !c_scheme || !c_rep || !c_display ||
                         append(classes, PyTuple_Pack(4, c_scheme, c_rep, c_display, inner)) < 0;
                Py_XDECREF(inner);
                Py_CLEAR(c_scheme);
                Py_CLEAR(c_rep);
                Py_CLEAR(c_display);
                Py_CLEAR(c_slots);
                break;
            }
            case OP_EXTERNAL: {
                PyObject *scheme = read_string(self, &p);
                PyObject *value = read_string(self, &p);
                failed = !external || !scheme || !value ||
                         append(external, PyTuple_Pack(2, scheme, value)) < 0;
                Py_XDECREF(scheme);
                Py_XDECREF(value);
                break;
            }
            case OP_NAME:
                Py_XSETREF(name, read_string(self, &p));
                failed = !name;
                break;
            case OP_DESCRIPTION:
                Py_XSETREF(description, read_string(self, &p));
                failed = !description;
                break;
            case OP_VERSION:
                Py_XSETREF(version, read_string(self, &p));
                failed = !version;
                break;
            case OP_ENTRY_END: {
                PyObject *s = slots ? PyList_AsTuple(slots) : NULL;
                PyObject *c = classes ? PyList_AsTuple(classes) : NULL;
                PyObject *e = external ? PyList_AsTuple(external) : NULL;
                failed = !attrs || !s || !c || !e ||
                         append(entries, Py_BuildValue("(OOOOOOO)", attrs, s, c, e,
                                                       name ? name : Py_None,
                                                       description ? description : Py_None,
                                                       version ? version : Py_None)) < 0;
                Py_XDECREF(s);
                Py_XDECREF(c);
                Py_XDECREF(e);
                break;
            }
            default:
                PyErr_SetString(PyExc_SystemError, "_ebrimscan: unknown operation");
                failed = 1;
        }
    }
    Py_XDECREF(attrs);
    Py_XDECREF(slots);
    Py_XDECREF(classes);
    Py_XDECREF(external);
    Py_XDECREF(name);
    Py_XDECREF(description);
    Py_XDECREF(version);
    Py_XDECREF(slot_name);
    Py_XDECREF(values);
    Py_XDECREF(c_scheme);
    Py_XDECREF(c_rep);
    Py_XDECREF(c_display);
    Py_XDECREF(c_slots);
    if (failed) {
        Py_DECREF(entries);
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return NULL;
    }
    /* keep the ops of the entry being read */
    memmove(self->ops.data, self->ops.data + self->ops_done, self->ops.len - self->ops_done);
    self->ops.len -= self->ops_done;
    self->ops_done = 0;
    return entries;
}

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
    if (self->cache) {
        int i;
        for (i = 0; i < CACHE_SLOTS; i++) Py_XDECREF(self->cache[i].str);
        PyMem_Free(self->cache);
        self->cache = NULL;
    }
    PyMem_RawFree(self->skeleton.data);
    PyMem_RawFree(self->text.data);
    PyMem_RawFree(self->ops.data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* (skeleton bytes, entries) made since the last call, or ScanError. */
static PyObject *outcome(Scanner *self, int status) {
    PyObject *skeleton, *entries, *result;
    if (self->error == E_NONE &&
        (status != 0 || !self->ctxt->wellFormed || !self->ctxt->nsWellFormed))
        self->error = E_MALFORMED;
    if (self->error != E_NONE) {
        if (self->error == E_NO_MEMORY) return PyErr_NoMemory();
        PyErr_SetString(ScanError,
                        self->error == E_DTD         ? "DTD or entity declaration refused"
                        : self->error == E_TOO_LARGE ? "document too large"
                        : self->error == E_NESTED    ? "nested entry"
                                                     : "malformed XML");
        return NULL;
    }
    entries = take_entries(self);
    if (!entries) return NULL;
    skeleton = PyBytes_FromStringAndSize(self->skeleton.data ? self->skeleton.data : "",
                                         (Py_ssize_t)self->skeleton.len);
    if (!skeleton) {
        Py_DECREF(entries);
        return NULL;
    }
    self->skeleton.len = 0;
    result = PyTuple_Pack(2, skeleton, entries);
    Py_DECREF(skeleton);
    Py_DECREF(entries);
    return result;
}

static int begin(Scanner *self) {
    if (!self->ctxt) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner not initialised");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner used by two threads at once");
        return -1;
    }
    return 0;
}

static PyObject *scanner_feed(Scanner *self, PyObject *arg) {
    Py_buffer view;
    int status;
    if (begin(self) < 0) return NULL;
    if (self->error != E_NONE) return outcome(self, 0);
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len > INT_MAX) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "piece too large");
        return NULL;
    }
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    status = xmlParseChunk(self->ctxt, (const char *)view.buf, (int)view.len, 0);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    PyBuffer_Release(&view);
    return outcome(self, status);
}

static PyObject *scanner_close(Scanner *self, PyObject *unused) {
    int status;
    (void)unused;
    if (begin(self) < 0) return NULL;
    if (self->error != E_NONE) return outcome(self, 0);
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    status = xmlParseChunk(self->ctxt, NULL, 0, 1);
    Py_END_ALLOW_THREADS
    self->busy = 0;
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
    /* the shape of the projections made (xds.PROJECTION_VERSION): a module built from an
       older source is not used */
    if (PyModule_AddIntConstant(m, "PROJECTION_VERSION", 2) < 0) return NULL;
    return m;
}
