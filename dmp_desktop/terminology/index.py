"""The local terminology index: one SQLite file with an FTS5 table per code system.

Layout
------
``concept``      one row per (system, code): label, folded label, rank weight,
                 "common" flag (starter-set codes), extra data as JSON.
``code_alias``   other codes that find a concept (CIP7/CIP13 of a speciality...).
``source``       where each system's concepts come from, and when.
``fts_<system>`` contentless FTS5 table (``detail=none``, prefix indexes of 1
                 to 3 characters) over the folded terms; its rowid is ``concept.id``.

Reads go through one connection per thread (WAL mode: a reader never waits
for an import and sees the previous index until the import commits). Writes
go through :meth:`TerminologyIndex.replacing`, which replaces whole systems in
one transaction: an import that fails or is cancelled changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Any

from dmp_desktop.terminology.abbreviations import lookup as lookup_abbreviation
from dmp_desktop.terminology.errors import TerminologyIndexError
from dmp_desktop.terminology.model import Concept, SourceInfo, System
from dmp_desktop.terminology.normalize import (
    STOPWORDS,
    canonical_code,
    looks_like_code_prefix,
    query_tokens,
)
from dmp_desktop.terminology.rows import Row

SCHEMA_VERSION = 1
MAX_LIMIT = 500
_MAX_QUERY_TOKENS = 12
_BATCH = 2000

# Table names come from this fixed mapping, never from input.
_FTS: dict[System, str] = {system: f"fts_{system.value}" for system in System}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS concept (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL,
    code TEXT NOT NULL,
    display TEXT NOT NULL,
    folded TEXT NOT NULL,
    weight INTEGER NOT NULL,
    common INTEGER NOT NULL,
    extra TEXT NOT NULL,
    UNIQUE (system, code)
);
CREATE INDEX IF NOT EXISTS concept_initial ON concept (system, substr(folded, 1, 1));
CREATE TABLE IF NOT EXISTS code_alias (
    system TEXT NOT NULL,
    alias TEXT NOT NULL,
    concept_id INTEGER NOT NULL,
    PRIMARY KEY (system, alias, concept_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS source (
    system TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    count INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    imported_at TEXT NOT NULL,
    starter INTEGER NOT NULL
);
"""

_FTS_OPTIONS = (
    "terms, content='', detail='none', columnsize=0, prefix='1 2 3', "
    "tokenize='unicode61 remove_diacritics 0'"
)

_COLUMNS = "c.id, c.code, c.display, c.extra"


class IndexWriter:
    """Adds the rows of the systems being replaced; see :meth:`TerminologyIndex.replacing`."""

    def __init__(self, conn: sqlite3.Connection, systems: frozenset[System], first_id: int) -> None:
        self._conn = conn
        self._systems = systems
        self._next_id = first_id
        self._seen: dict[System, dict[str, int]] = {system: {} for system in systems}
        self._concepts: list[tuple[Any, ...]] = []
        self._terms: dict[System, list[tuple[int, str]]] = {system: [] for system in systems}
        self._aliases: list[tuple[str, str, int]] = []
        self.skipped = 0

    @property
    def systems(self) -> frozenset[System]:
        return self._systems

    def count(self, system: System) -> int:
        return len(self._seen.get(system, {}))

    def has(self, system: System, code: str) -> bool:
        return code in self._seen.get(system, {})

    def add(self, row: Row) -> bool:
        """Queue a row; False (and nothing written) when its code was already added."""
        if row.system not in self._systems:
            raise ValueError(f"system {row.system.value} is not being replaced")
        seen = self._seen[row.system]
        if row.code in seen:
            return False
        concept_id = self._next_id
        self._next_id += 1
        seen[row.code] = concept_id
        self._concepts.append(
            (
                concept_id,
                row.system.value,
                row.code,
                row.display,
                row.folded,
                row.weight,
                int(row.common),
                row.extra_json(),
            )
        )
        self._terms[row.system].append((concept_id, row.terms))
        for alias in row.aliases:
            if alias and alias != row.code:
                self._aliases.append((row.system.value, alias, concept_id))
        if len(self._concepts) >= _BATCH:
            self.flush()
        return True

    def set_weight(self, system: System, codes: Iterable[str], weight: int) -> None:
        """Change the rank weight of codes already added (e.g. headings found later)."""
        self.flush()
        ids = [(weight, self._seen[system][code]) for code in codes if code in self._seen[system]]
        self._conn.executemany("UPDATE concept SET weight = ? WHERE id = ?", ids)

    def flush(self) -> None:
        if self._concepts:
            self._conn.executemany(
                "INSERT INTO concept (id, system, code, display, folded, weight, common, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                self._concepts,
            )
            self._concepts.clear()
        for system, terms in self._terms.items():
            if terms:
                self._conn.executemany(
                    f"INSERT INTO {_FTS[system]} (rowid, terms) VALUES (?, ?)",  # noqa: S608
                    terms,
                )
                terms.clear()
        if self._aliases:
            self._conn.executemany(
                "INSERT OR IGNORE INTO code_alias (system, alias, concept_id) VALUES (?, ?, ?)",
                self._aliases,
            )
            self._aliases.clear()


class TerminologyIndex:
    """Search-as-you-type over CIM-10, drugs (CIS/CIP), ATC and SNOMED CT allergy types.

    ``path`` is the SQLite file (created with its folder if absent), usually
    under the application data directory. The object may be shared between
    threads: each thread reads through its own connection.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self._path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._initialise()

    @classmethod
    def with_starter_set(cls, path: str | PathLike[str]) -> TerminologyIndex:
        """Open the index and load the bundled starter set into every empty system."""
        from dmp_desktop.terminology import allergy_classes
        from dmp_desktop.terminology.starter import load_starter_set

        index = cls(path)
        try:
            load_starter_set(index, only_empty=True)
            allergy_classes.load_into(index)
        except BaseException:
            index.close()
            raise
        return index

    @property
    def path(self) -> Path:
        return self._path

    # --- lifecycle ----------------------------------------------------------
    def _initialise(self) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TerminologyIndexError("unwritable", type(exc).__name__) from exc
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise _open_error(exc) from exc
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise TerminologyIndexError("newer-schema", str(version))
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for table in _FTS.values():
                conn.execute(
                    f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5({_FTS_OPTIONS})"
                )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise TerminologyIndexError("corrupt", type(exc).__name__) from exc
        except BaseException:
            conn.close()
            raise
        conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-32000")
        conn.execute("PRAGMA synchronous=NORMAL")
        # After an import the write-ahead log is cut back to 4 MB.
        conn.execute("PRAGMA journal_size_limit=4194304")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise TerminologyIndexError("closed")
            try:
                conn = self._connect()
            except sqlite3.Error as exc:
                raise _open_error(exc) from exc
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close every connection; the index cannot be used afterwards."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def __enter__(self) -> TerminologyIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------
    @contextmanager
    def replacing(
        self, systems: Collection[System], origin: str, *, starter: bool = False
    ) -> Iterator[IndexWriter]:
        """Replace every concept of ``systems`` with the rows added in the block.

        All or nothing: if the block raises, the transaction is rolled back
        and readers keep seeing the previous concepts. One import at a time.
        """
        targets = frozenset(systems)
        with self._write_lock:
            if self._closed:
                raise TerminologyIndexError("closed")
            try:
                conn = self._connect()
            except sqlite3.Error as exc:
                raise _open_error(exc) from exc
            try:
                conn.execute("BEGIN IMMEDIATE")
                values = [system.value for system in targets]
                marks = ",".join("?" * len(values))
                conn.execute(f"DELETE FROM concept WHERE system IN ({marks})", values)  # noqa: S608
                conn.execute(f"DELETE FROM code_alias WHERE system IN ({marks})", values)  # noqa: S608
                conn.execute(f"DELETE FROM source WHERE system IN ({marks})", values)  # noqa: S608
                for system in targets:
                    table = _FTS[system]
                    conn.execute(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")  # noqa: S608
                (first_id,) = conn.execute(
                    "SELECT coalesce(max(id), 0) + 1 FROM concept"
                ).fetchone()
                writer = IndexWriter(conn, targets, first_id)
                yield writer
                writer.flush()
                now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                for system in targets:
                    table = _FTS[system]
                    conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")  # noqa: S608
                    conn.execute(
                        "INSERT INTO source (system, origin, count, skipped, imported_at, starter) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            system.value,
                            origin,
                            writer.count(system),
                            writer.skipped,
                            now,
                            int(starter),
                        ),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                conn.close()

    # --- reading ------------------------------------------------------------
    def count(self, system: System) -> int:
        row = (
            self._reader()
            .execute("SELECT count(*) FROM concept WHERE system = ?", (system.value,))
            .fetchone()
        )
        return int(row[0])

    def sources(self) -> list[SourceInfo]:
        rows = (
            self._reader()
            .execute(
                "SELECT system, origin, count, skipped, imported_at, starter "
                "FROM source ORDER BY system"
            )
            .fetchall()
        )
        result = []
        for system, origin, count, skipped, imported_at, starter in rows:
            try:
                key = System(system)
            except ValueError:
                continue
            result.append(SourceInfo(key, origin, count, skipped, imported_at, bool(starter)))
        return result

    def concepts(self, system: System) -> Iterator[Concept]:
        """Every concept of ``system``, by code (for exports and checks)."""
        rows = self._reader().execute(
            f"SELECT {_COLUMNS} FROM concept AS c WHERE c.system = ? ORDER BY c.code",  # noqa: S608
            (system.value,),
        )
        for row in rows:
            yield _concept(system, row)

    def get(self, system: System, code: str) -> Concept | None:
        """The concept with this code (any usual spelling) or alias, or None."""
        canonical = canonical_code(system, code)
        if not canonical:
            return None
        conn = self._reader()
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM concept AS c WHERE c.system = ? AND c.code = ?",  # noqa: S608
            (system.value, canonical),
        ).fetchone()
        if row is None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM code_alias AS a JOIN concept AS c ON c.id = a.concept_id "  # noqa: S608
                "WHERE a.system = ? AND a.alias = ? ORDER BY c.weight, c.code LIMIT 1",
                (system.value, canonical),
            ).fetchone()
        return None if row is None else _concept(system, row)

    def search(self, query: str, system: System, limit: int = 20) -> list[Concept]:
        """Concepts of ``system`` matching what the doctor has typed so far.

        Order: the exact code (or an alias such as a CIP13), then codes that
        start with the query, then labels whose every word starts with one of
        the typed words. Among labels: targets of a typed abbreviation first
        (in the table's order), then common codes (those of the starter set),
        then labels starting with the first typed word, then those with a word
        starting with it near the start, then preferred codes (CIM-10
        subcategories over headings, marketed drugs), then shorter labels.
        """
        limit = max(0, min(int(limit), MAX_LIMIT))
        text = query.strip()
        if not text or limit == 0:
            return []
        conn = self._reader()
        found: dict[int, Concept] = {}

        def take(rows: Iterable[tuple[Any, ...]]) -> None:
            for row in rows:
                if len(found) >= limit:
                    return
                if row[0] not in found:
                    found[row[0]] = _concept(system, row)

        canonical = canonical_code(system, text)
        if 0 < len(canonical) <= 32:
            take(
                conn.execute(
                    f"SELECT {_COLUMNS} FROM concept AS c WHERE c.system = ? AND c.code = ?",  # noqa: S608
                    (system.value, canonical),
                )
            )
            take(
                conn.execute(
                    f"SELECT {_COLUMNS} FROM code_alias AS a JOIN concept AS c "  # noqa: S608
                    "ON c.id = a.concept_id WHERE a.system = ? AND a.alias = ? "
                    "ORDER BY c.weight, c.code LIMIT ?",
                    (system.value, canonical, limit),
                )
            )
            if len(found) < limit and looks_like_code_prefix(system, canonical):
                take(
                    conn.execute(
                        f"SELECT {_COLUMNS} FROM concept AS c WHERE c.system = ? "  # noqa: S608
                        "AND c.code > ? AND c.code < ? "
                        "ORDER BY length(c.code), c.code LIMIT ?",
                        (system.value, canonical, canonical + "\x7f", limit),
                    )
                )
        if len(found) < limit:
            # Ask for enough rows to fill the list after the code matches.
            take(self._text_search(conn, text, system, limit + len(found)))
        return list(found.values())

    def _text_search(
        self, conn: sqlite3.Connection, text: str, system: System, limit: int
    ) -> list[tuple[Any, ...]]:
        words = query_tokens(text)[:_MAX_QUERY_TOKENS]
        if not words:
            return []
        if len(words) == 1 and len(words[0]) == 1:
            # One letter matches a word of nearly every label: only labels
            # starting with it are worth showing (and this stays fast).
            letter = words[0]
            return conn.execute(
                f"SELECT {_COLUMNS} FROM concept AS c WHERE c.system = ? "  # noqa: S608
                "AND substr(c.folded, 1, 1) = ? "
                "ORDER BY c.common DESC, c.weight, length(c.folded), c.code LIMIT ?",
                (system.value, letter, limit),
            ).fetchall()
        clauses: list[str] = []
        boosted: list[str] = []
        leads: list[str] = [words[0]]
        for position, word in enumerate(words):
            alternatives = [f'"{word}"*']
            entry = lookup_abbreviation(system, word)
            if entry is not None:
                boosted.extend(entry.codes)
                for phrase in entry.phrases:
                    parts = [part for part in phrase.split() if part not in STOPWORDS]
                    if parts:
                        alternatives.append("(" + " AND ".join(f'"{p}"*' for p in parts) + ")")
                        if position == 0:
                            leads.append(parts[0])
            clauses.append("(" + " OR ".join(alternatives) + ")")
        match = " AND ".join(clauses)
        table = _FTS[system]
        params: list[Any] = [match]
        order: list[str] = []
        targets = list(dict.fromkeys(boosted))
        if targets:
            whens = " ".join("WHEN ? THEN ?" for _ in targets)
            order.append(f"CASE c.code {whens} ELSE {len(targets)} END")
            for rank, code in enumerate(targets):
                params.extend((code, rank))
        order.append("c.common DESC")
        # Where the first typed word matches: start of the label, a word near
        # the start, or further (or only in synonyms, substances...).
        starts = " OR ".join("c.folded LIKE ?" for _ in leads)
        near = " OR ".join("instr(substr(c.folded, 1, 40), ?) > 0" for _ in leads)
        order.append(f"CASE WHEN {starts} THEN 0 WHEN {near} THEN 1 ELSE 2 END")
        params.extend(f"{lead}%" for lead in leads)
        params.extend(f" {lead}" for lead in leads)
        order.extend(["c.weight", "length(c.folded)", "c.code"])
        params.append(limit)
        sql = (
            f"SELECT {_COLUMNS} FROM {table} AS f JOIN concept AS c ON c.id = f.rowid "  # noqa: S608
            f"WHERE {table} MATCH ? ORDER BY {', '.join(order)} LIMIT ?"
        )
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            # A query FTS5 cannot parse (should not happen: tokens are [a-z0-9]).
            return []


def _open_error(exc: sqlite3.Error) -> TerminologyIndexError:
    if isinstance(exc, sqlite3.OperationalError):
        return TerminologyIndexError("unwritable", type(exc).__name__)
    return TerminologyIndexError("corrupt", type(exc).__name__)


def _concept(system: System, row: tuple[Any, ...]) -> Concept:
    try:
        extra = json.loads(row[3]) if row[3] else {}
    except ValueError:
        extra = {}
    return Concept(system=system, code=row[1], display=row[2], extra=extra)
