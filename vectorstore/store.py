"""The passage store: Chroma (through langchain-chroma) holding passages, reports and settings.

Four collections:
- `fazhi_passages`: one record per passage, embedded, metadata filterable on township, county,
  city, province, year, section;
- `fazhi_reports`: one record per report with its cleaned full text, so any citation can be shown
  and checked in context;
- `fazhi_store`: the settings that built the index (embedding model, chunking), checked on open;
- `fazhi_words`: embeddings of the corpus vocabulary (one record per word), a cache for finding
  the reports' words for a question's paraphrase;
- `fazhi_edits`: metadata users set by hand (`fazhi meta`, the 报告 tab), one record per report
  file, applied again whenever that file is ingested (kept by `fazhi ingest --rebuild`).
Works on a local folder (`PersistentClient`) or a Chroma server (`HttpClient`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from ingest.errors import IncompatibleStoreError, ReportNotFoundError, StoreError
from ingest.model import Passage, Report, ReportMeta, Section
from vectorstore import chroma_file, fastjson
from vectorstore.embeddings import FazhiEmbeddings

if TYPE_CHECKING:  # chromadb and langchain-chroma are imported when Chroma is first needed
    import chromadb
    from chromadb.api.models.Collection import Collection
    from langchain_chroma import Chroma

SCHEMA_VERSION = 1
PASSAGES = "fazhi_passages"
REPORTS = "fazhi_reports"
STORE_INFO = "fazhi_store"
WORDS = "fazhi_words"
EDITS = "fazhi_edits"
# Chroma keeps a collection's writes in its log until it next saves the vector index (every
# 1,000 records by default), and every write costs more the longer that log is: with whole
# report texts in it, storing 9 reports grew from 50 ms to 1.8 s (BENCHMARKS.md). The reports'
# one-number vectors are cheap to save, so save them often.
REPORTS_SYNC_THRESHOLD = 10
UNKNOWN = ""  # Chroma metadata has no null: unknown township/county/... are stored empty
NAMES_PER_QUERY = 500  # township names in one `$in` filter, well under SQLite's variable cap


# a filter on these keeps a report of unknown county (or province) whose township is named
PLACE_ABOVE_TOWNSHIP = ("county", "province")


MIN_ID_PREFIX = 4  # the shortest start of a report's id that `get_report` reads as the id


@dataclass
class Scope:
    """Which reports and sections a question is about. Empty lists mean "all"."""

    townships: list[str] = field(default_factory=list)
    counties: list[str] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    sections: list[str] = field(default_factory=list)
    report_ids: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)  # these years only ("2019年和2021年")

    @property
    def has_years(self) -> bool:
        """Whether the scope names years (a range, or a list of them)."""
        return self.year_from is not None or self.year_to is not None or bool(self.years)

    def value_filters(self, *, with_sections: bool = True) -> list[tuple[str, list[str]]]:
        """(metadata key, allowed values) for each list filter that is set."""
        pairs = (
            ("township", self.townships),
            ("county", self.counties),
            ("province", self.provinces),
            ("report_id", self.report_ids),
            ("section", self.sections if with_sections else []),
        )
        return [(key, list(values)) for key, values in pairs if values]

    def where(self, *, with_sections: bool = True) -> dict[str, Any] | None:
        """The filter as a Chroma `where` clause."""
        clauses: list[dict[str, Any]] = []
        for key, values in self.value_filters(with_sections=with_sections):
            clause: dict[str, Any] = {key: {"$in": values}}
            if key in PLACE_ABOVE_TOWNSHIP and self.townships:
                unknown = {"$and": [{key: UNKNOWN}, {"township": {"$in": self.townships}}]}
                clause = {"$or": [clause, unknown]}
            clauses.append(clause)
        if self.year_from is not None:
            clauses.append({"year": {"$gte": self.year_from}})
        if self.year_to is not None:
            clauses.append({"year": {"$lte": self.year_to}})
        if self.years:
            clauses.append({"year": {"$in": list(self.years)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matches(self, meta: dict[str, Any]) -> bool:
        """The same filter as `where()`, applied in Python to a passage or report record."""
        return self.matcher()(meta)

    def matcher(self) -> Callable[[dict[str, Any]], bool]:
        """`matches` with the filter prepared once, for testing many records."""
        filters = [(key, set(values)) for key, values in self.value_filters()]
        townships = set(self.townships)
        year_from, year_to, years = self.year_from, self.year_to, set(self.years)

        def matches(meta: dict[str, Any]) -> bool:
            for key, values in filters:
                if key in meta and meta[key] not in values:
                    if (
                        key in PLACE_ABOVE_TOWNSHIP
                        and not meta[key]
                        and meta.get("township") in townships
                    ):
                        continue  # the township named matches; its county is unknown
                    return False
            year = meta.get("year")
            if year_from is not None and (not year or year < year_from):
                return False
            if years and year not in years:
                return False
            return not (year_to is not None and (not year or year > year_to))

        return matches

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("townships", "counties", "provinces", "sections"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.year_from is not None:
            out["year_from"] = self.year_from
        if self.year_to is not None:
            out["year_to"] = self.year_to
        if self.years:
            out["years"] = list(self.years)
        return out


@dataclass
class StoredReport:
    id: str
    source: str
    format: str
    meta: ReportMeta
    sections: list[Section]
    passage_count: int
    fingerprint: str
    text: str | None = None

    @property
    def section_types(self) -> list[str]:
        seen: list[str] = []
        for s in self.sections:
            if s.type not in seen and s.heading != "落款":
                seen.append(s.type)
        return seen


@dataclass
class StoredPassage:
    id: str
    text: str
    meta: dict[str, Any]
    embedding: np.ndarray | None = None


def make_client(path: Path | None = None, url: str | None = None) -> chromadb.ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url if "//" in url else f"http://{url}")
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "localhost",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {url} ({exc}); start it with "
                "`chroma run --path DIR`, or unset FAZHI_CHROMA_URL to use a local folder"
            ) from exc
    if path is None:
        raise StoreError("no store given: pass --store DIR or set FAZHI_STORE")
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from exc


CATALOGUE = "fazhi_reports.json"  # the reports' metadata at one store version, in index_dir
FACETS = "fazhi_facets.json"  # their distinct places and years at that version
FACET_KEYS = ("province", "county", "township", "year")
_log = logging.getLogger(__name__)


def _save_catalogue(path: Path, version: str, got: dict[str, Any]) -> None:
    _save_json(path, {"version": version, "ids": got["ids"], "metadatas": got["metadatas"]})


def _save_json(path: Path, data: dict[str, Any]) -> None:
    """Best effort: a store folder that cannot be written still answers, reading Chroma."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        _log.warning("cannot save %s: %s", path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()


def index_folder(url: str, root: Path) -> Path:
    """The folder under `root` for a Chroma server store's derived files, one per server URL."""
    key = hashlib.sha256(f"{url.rstrip('/')}|{PASSAGES}".encode()).hexdigest()[:16]
    return root / key


def drop_store(client: chromadb.ClientAPI) -> None:
    """Delete fazhi's collections (for `fazhi ingest --rebuild`); users' metadata edits stay,
    to be applied to their reports as they are ingested again."""
    for name in (PASSAGES, REPORTS, STORE_INFO, WORDS):
        with contextlib.suppress(Exception):  # a missing collection: nothing to delete
            client.delete_collection(name)


class PassageStore:
    """Reports and their embedded passages, in Chroma."""

    def __init__(
        self,
        embeddings: FazhiEmbeddings,
        *,
        path: Path | None = None,
        url: str | None = None,
        chunking: dict[str, int] | None = None,
        client: chromadb.ClientAPI | None = None,
        index_dir: Path | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.location = url or str(path)
        # a local store's folder, where fazhi may keep files of its own beside Chroma's
        self.local_dir = Path(path) if path is not None and not url else None
        # where fazhi keeps what it derives from the store (index snapshot, token cache): the
        # store's folder, or for a Chroma server a folder of this machine (`index_folder`)
        self.index_dir = Path(index_dir) if index_dir is not None else self.local_dir
        self.chunking = chunking or {}
        self._path, self._url, self._client = path, url, client
        self._chroma: _Chroma | None = None
        self._opening = threading.Lock()
        self._close: weakref.finalize | None = None
        self._report_cache: _Catalogue | None = None
        self._facets: tuple[str, dict[str, list[Any]]] | None = None
        # a local folder whose settings match is read without Chroma until something needs it
        # (chroma_file): a fresh question over a current index snapshot never opens it
        self._file = self.local_dir if client is None else None
        if self._file is None or self._read_file(STORE_INFO, "settings") != self.wanted_settings():
            self._check_settings()

    def _open(self) -> _Chroma:
        """Chroma's client and collections, opened on first use."""
        if self._chroma is not None:
            return self._chroma
        with self._opening:
            if self._chroma is None:
                self._chroma = self._connect()
                self._file = None  # from now on this process reads (and writes) through Chroma
        return self._chroma

    def _connect(self) -> _Chroma:
        from langchain_chroma import Chroma

        client = self._client or make_client(self._path, self._url)
        # a client made here is closed when this store goes: Chroma keeps each folder's
        # system (its SQLite and index memory) for the life of the process until then
        if self._client is None:
            self._close = weakref.finalize(self, client.close)
        vectorstore = Chroma(
            collection_name=PASSAGES,
            embedding_function=self.embeddings,
            client=client,
            collection_metadata={"hnsw:space": "cosine"},
        )
        reports = client.get_or_create_collection(REPORTS)
        hnsw = (reports.configuration or {}).get("hnsw") or {}
        if hnsw.get("sync_threshold") != REPORTS_SYNC_THRESHOLD:  # new, or made by older fazhi
            reports.modify(
                configuration={
                    "hnsw": {
                        "sync_threshold": REPORTS_SYNC_THRESHOLD,
                        "batch_size": REPORTS_SYNC_THRESHOLD,
                    }
                }
            )
        return _Chroma(
            client=client,
            vectorstore=vectorstore,
            passages=vectorstore._collection,
            reports=reports,
            info=client.get_or_create_collection(STORE_INFO),
            words=client.get_or_create_collection(WORDS),
            edits=client.get_or_create_collection(EDITS),
        )

    def _read_file(self, collection: str, record_id: str) -> Any:
        """A record's metadata read from the SQLite file (None if there is none), or
        `_UNREAD` when Chroma must be asked."""
        folder = self._file  # once: another thread may open Chroma meanwhile
        if folder is None:
            return _UNREAD
        got = chroma_file.records(folder, collection, [record_id])
        return _UNREAD if got is None else got[record_id]

    @property
    def client(self) -> chromadb.ClientAPI:
        return self._open().client

    @property
    def vectorstore(self) -> Chroma:
        return self._open().vectorstore

    @property
    def _passages(self) -> Collection:
        return self._open().passages

    @property
    def _reports(self) -> Collection:
        return self._open().reports

    @property
    def _info(self) -> Collection:
        return self._open().info

    @property
    def _words(self) -> Collection:
        return self._open().words

    @property
    def _edits(self) -> Collection:
        return self._open().edits

    # -- settings recorded with the index ---------------------------------------------------
    def wanted_settings(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "embedding_model": self.embeddings.model_id,
            "passage_prefix": self.embeddings.passage_prefix,
            **self.chunking,
        }

    def recorded_settings(self) -> dict[str, Any] | None:
        got = self._info.get(ids=["settings"], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else None

    def _check_settings(self) -> None:
        recorded = self.recorded_settings()
        wanted = self.wanted_settings()
        if recorded is None or self._passages.count() == 0:
            if recorded != wanted:  # an empty store taking new settings: its word cache is stale
                self.client.delete_collection(WORDS)
                self._open().words = self.client.get_or_create_collection(WORDS)
            self._info.upsert(ids=["settings"], metadatas=[wanted], embeddings=[[0.0]])
            return
        diffs = [
            f"{key}: store has {recorded.get(key)!r}, requested {value!r}"
            for key, value in wanted.items()
            if recorded.get(key) != value
        ]
        if diffs:
            raise IncompatibleStoreError(
                f"the store at {self.location} was built with other settings ("
                + "; ".join(diffs)
                + "). Use another --store folder, or run `fazhi ingest --rebuild` to re-embed"
                " every report with the new settings"
            )

    # -- writing -----------------------------------------------------------------------------
    def add_reports(self, items: list[tuple[Report, str, np.ndarray]]) -> list[list[str]]:
        """Store several embedded reports (report, fingerprint, passage vectors) in a few writes.

        Passages first, then the reports, and only then are the versions they replace removed,
        so a write killed at any point loses nothing: the next write rolls it back (before the
        reports are stored) or finishes it (after). Returns, per report, the ids of the reports
        it replaced.
        """
        batch = {r.id for r, _, _ in items}
        # an old version whose text another report of this batch holds again stays
        plan = [
            (r.id, [old for old in self.report_ids_for_source(r.source) if old not in batch])
            for r, _, _ in items
        ]
        with self._recorded_write(plan):
            passages = [
                (r, p, v)
                for r, _, vectors in items
                for p, v in zip(r.passages, vectors, strict=True)
            ]
            for i in range(0, len(passages), WRITE_PAGE):
                page = passages[i : i + WRITE_PAGE]
                self._passages.upsert(
                    ids=[p.id for _, p, _ in page],
                    embeddings=np.asarray([v for _, _, v in page], dtype=np.float32),
                    documents=[p.text for _, p, _ in page],
                    metadatas=[_passage_metadata(r, p) for r, p, _ in page],
                )
            for report, _, _ in items:
                stale = self._passages.get(where={"report_id": report.id}, include=[])["ids"]
                leftover = sorted(set(stale) - {p.id for p in report.passages})
                if leftover:
                    self._passages.delete(ids=leftover)
            if items:
                self._reports.upsert(
                    ids=[r.id for r, _, _ in items],
                    documents=[r.text for r, _, _ in items],
                    metadatas=[_report_metadata(r, stamp) for r, stamp, _ in items],
                    embeddings=[[0.0]] * len(items),
                )
            for _, replaced in plan:
                for old in replaced:
                    self._delete_report(old)
            if items:
                self._changed()
        return [replaced for _, replaced in plan]

    def refresh_provenance(self, report: Report) -> bool:
        """Store where each of an unchanged report's fields came from and how sure that is, if
        that is all that changed (e.g. a store made before fazhi recorded it); True if it did."""
        got = self._reports.get(ids=[report.id], include=["metadatas"])
        if not got["ids"]:
            return False
        stored = got["metadatas"][0]
        fresh = {
            "sources": json.dumps(report.meta.sources, ensure_ascii=False),
            "certainty": json.dumps(report.meta.certainty, ensure_ascii=False),
        }
        if all(stored.get(key) == value for key, value in fresh.items()):
            return False
        self._reports.update(ids=[report.id], metadatas=[{**stored, **fresh}])
        self._changed()
        return True

    # -- metadata edits ----------------------------------------------------------------------
    def record_edit(self, source: str, report_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Remember fields a user set for the report in file `source` (merged with earlier
        edits of it); ingest applies them whenever that file, or the same text, comes again.
        Returns every field edited so far."""
        key = _edit_key(source)
        got = self._edits.get(ids=[key], include=["metadatas"])
        merged = {**(json.loads(got["metadatas"][0]["fields"]) if got["ids"] else {}), **fields}
        record = {
            "source": source,
            "report_id": report_id,
            "fields": json.dumps(merged, ensure_ascii=False),
            "edited": time.time(),
        }
        self._edits.upsert(ids=[key], metadatas=[record], embeddings=[[0.0]])
        return merged

    def edit_for(self, source: str, report_id: str) -> tuple[dict[str, Any], str] | None:
        """The fields a user edited for file `source`, else for the same text stored from
        another file, with the id of the text they were made for; None if never edited."""
        got = self._edits.get(ids=[_edit_key(source)], include=["metadatas"])
        if not got["ids"]:
            got = self._edits.get(where={"report_id": report_id}, include=["metadatas"], limit=1)
        if not got["ids"]:
            return None
        record = got["metadatas"][0]
        return json.loads(record["fields"]), str(record.get("report_id", ""))

    def update_metadata(self, report_id: str, meta: ReportMeta, fingerprint: str) -> int:
        """Give a stored report and every one of its passages new metadata; returns how many
        passages. Passages whose township changed are embedded again (the township's name is
        part of what is embedded), so the store holds what ingesting the file would give.

        Passages are written before the report: a process killed in between leaves the old
        fingerprint, so the next `fazhi ingest` of the file stores it whole again."""
        stored = self.get_report(report_id, with_text=False)
        got = _get_all(self._passages, {"report_id": stored.id}, ["documents", "metadatas"])
        ids, texts, old = got["ids"], got["documents"], got["metadatas"]
        places = _place_fields(meta)
        vectors = None
        if (meta.township or "") != (stored.meta.township or ""):
            vectors = self.embeddings.embed_passages([framed(meta, t) for t in texts])
        for i in range(0, len(ids), WRITE_PAGE):
            page = slice(i, i + WRITE_PAGE)
            self._passages.update(
                ids=ids[page],
                metadatas=[{**m, **places, "title": meta.title or UNKNOWN} for m in old[page]],
                embeddings=None if vectors is None else np.asarray(vectors[page], np.float32),
            )
        record = self._reports.get(ids=[stored.id], include=["metadatas"])["metadatas"][0]
        self._reports.update(
            ids=[stored.id],
            metadatas=[{**record, **_meta_fields(meta), "fingerprint": fingerprint}],
        )
        self._changed()  # answers, filters and the matrix read the new metadata from now on
        return len(ids)

    def remove_report(self, report_id: str) -> StoredReport:
        report = self.get_report(report_id, with_text=False)  # resolves a unique id prefix
        with self._recorded_write([(None, [report.id])]):
            self._delete_report(report.id)
            self._changed()
        return report

    def _delete_report(self, report_id: str) -> None:
        self._passages.delete(where={"report_id": report_id})
        self._reports.delete(ids=[report_id])

    # -- interrupted writes ------------------------------------------------------------------
    # A write first records its plan (the reports it stores, each with the ones it replaces)
    # and clears the record when done. A process killed in between leaves the record; the next
    # write (never a read: a reader must not undo a live writer's work) settles it: a report
    # not yet stored is rolled back (its passages deleted, what it replaces kept), a stored
    # one is finished (what it replaces deleted).

    @contextlib.contextmanager
    def _recorded_write(self, plan: list[tuple[str | None, list[str]]]) -> Iterator[None]:
        self.recover_interrupted_writes()
        key = f"write:{uuid.uuid4().hex}"
        record = {
            "kind": "write",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": time.time(),
            "plan": json.dumps(plan),
        }
        self._info.upsert(ids=[key], metadatas=[record], embeddings=[[0.0]])
        _ACTIVE_WRITES.add(key)
        try:
            yield
        finally:
            _ACTIVE_WRITES.discard(key)  # a failed write's record stays, for the next to settle
        self._info.delete(ids=[key])

    def recover_interrupted_writes(self) -> list[str]:
        """Settle the writes killed processes left half done; returns the report ids repaired."""
        got = self._info.get(where={"kind": "write"}, include=["metadatas"])
        repaired: list[str] = []
        for key, record in zip(got["ids"], got["metadatas"], strict=True):
            if not _writer_is_gone(key, record):
                continue
            for new, replaced in json.loads(str(record.get("plan", "[]"))):
                if new is not None and not self._reports.get(ids=[new], include=[])["ids"]:
                    self._passages.delete(where={"report_id": new})  # roll back
                    repaired.append(new)
                    continue
                for old in replaced:  # finish
                    self._delete_report(old)
                    repaired.append(old)
            self._info.delete(ids=[key])
        if repaired:
            self._changed()
        return repaired

    # -- reading -----------------------------------------------------------------------------
    def report_ids_for_source(self, source: str) -> list[str]:
        return list(self._reports.get(where={"source": source}, include=[])["ids"])

    def reports_of(self, townships: Collection[str]) -> list[StoredReport]:
        """The stored reports of these township names (no text), read from the store itself
        rather than the cached catalogue: an ingest asks this for the townships it stored."""
        names = sorted(set(townships))
        found: list[StoredReport] = []
        for start in range(0, len(names), NAMES_PER_QUERY):
            got = self._reports.get(
                where={"township": {"$in": names[start : start + NAMES_PER_QUERY]}},
                include=["metadatas"],
            )
            found += [
                _stored_report(i, m, None)
                for i, m in zip(got["ids"], got["metadatas"], strict=True)
            ]
        return found

    def sources(self, report_id: str) -> list[str]:
        got = self._reports.get(ids=[report_id], include=["metadatas"])
        return [str(m.get("source", "")) for m in got["metadatas"]]

    def fingerprint(self, report_id: str) -> str | None:
        got = self._reports.get(ids=[report_id], include=["metadatas"])
        return str(got["metadatas"][0].get("fingerprint")) if got["ids"] else None

    def get_report(self, report_id: str, *, with_text: bool = True) -> StoredReport:
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self._reports.get(ids=[report_id], include=include)
        if not got["ids"]:
            matches = [r for r in self._reports.get(include=[])["ids"] if r.startswith(report_id)]
            if len(matches) == 1 and len(report_id) >= MIN_ID_PREFIX:
                return self.get_report(matches[0], with_text=with_text)
            if matches and len(report_id) < MIN_ID_PREFIX:
                why = f"give at least {MIN_ID_PREFIX} characters of the id"
            elif len(matches) > 1:
                why = f"{len(matches)} reports' ids begin so; give more of the id"
            else:
                why = "`fazhi reports` lists the ids"
            raise ReportNotFoundError(
                f"no report with id '{report_id}' in the store at {self.location}; {why}"
            )
        text = got["documents"][0] if with_text else None
        return _stored_report(got["ids"][0], got["metadatas"][0], text)

    def list_reports(self, scope: Scope | None = None) -> list[StoredReport]:
        catalogue = self._catalogue()
        if scope:
            matches = scope.matcher()
            return [
                r
                for r, fields in zip(catalogue.reports, catalogue.fields, strict=True)
                if matches(fields)
            ]
        return list(catalogue.reports)

    def _catalogue(self) -> _Catalogue:
        """Every stored report (no text), re-read only when the store has changed."""
        version = self.version()
        if self._report_cache is None or self._report_cache.version != version:
            self._report_cache = _Catalogue(version, self._load_reports(version))
        return self._report_cache

    def _load_reports(self, version: str) -> list[StoredReport]:
        got = self._saved_catalogue(version) or _get_all(self._reports, None, ["metadatas"])
        if self.index_dir is not None and not got.get("saved"):
            _save_catalogue(self.index_dir / CATALOGUE, version, got)
        reports = [
            _stored_report(i, m, None) for i, m in zip(got["ids"], got["metadatas"], strict=True)
        ]
        return sorted(reports, key=lambda r: (r.meta.year or 0, r.meta.township or "", r.id))

    def _saved_catalogue(self, version: str) -> dict[str, Any] | None:
        """The reports' metadata as saved for this store version (reading 10,000s of records
        from Chroma takes seconds), or None."""

        def read(saved: dict[str, Any]) -> dict[str, Any]:
            if len(saved["ids"]) != len(saved["metadatas"]):
                raise ValueError("ids and metadatas differ in length")
            return {"ids": saved["ids"], "metadatas": saved["metadatas"], "saved": True}

        return self._read_saved(CATALOGUE, version, read)

    def _read_saved(
        self, name: str, version: str, read: Callable[[dict[str, Any]], Any]
    ) -> Any | None:
        """`read` of the file `name` in index_dir if it was saved for this store version, else
        None (a damaged file is logged and the store is read instead)."""
        path = self.index_dir / name if self.index_dir is not None else None
        if path is None or not path.is_file():
            return None
        try:
            saved = fastjson.loads(path.read_bytes())
            return read(saved) if saved.get("version") == version else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            _log.warning("ignoring the saved %s (%s); reading the store", path, exc)
            return None

    def passages(
        self, scope: Scope | None = None, *, with_embeddings: bool = False
    ) -> list[StoredPassage]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        where = scope.where() if scope else None
        got = _get_all(self._passages, where, include)
        embeddings = got.get("embeddings") if with_embeddings else None
        out = []
        for i, pid in enumerate(got["ids"]):
            vector = np.asarray(embeddings[i], dtype=np.float32) if embeddings is not None else None
            out.append(StoredPassage(pid, got["documents"][i], dict(got["metadatas"][i]), vector))
        return out

    def version(self) -> str:
        """A token that changes whenever a report is added, replaced or removed (by any process)."""
        record = self._read_file(STORE_INFO, "generation")
        if record is not _UNREAD:
            return str(record["token"]) if record else "0"
        got = self._info.get(ids=["generation"], include=["metadatas"])
        return str(got["metadatas"][0]["token"]) if got["ids"] else "0"

    def _changed(self) -> None:
        self._info.upsert(
            ids=["generation"], metadatas=[{"token": uuid.uuid4().hex}], embeddings=[[0.0]]
        )

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """Embeddings of `words` (rows in the same order), embedding only those not cached yet."""
        known: dict[str, np.ndarray] = {}
        for i in range(0, len(words), GET_PAGE):
            got = self._words.get(ids=words[i : i + GET_PAGE], include=["embeddings"])
            for word, vector in zip(got["ids"], got["embeddings"], strict=True):
                known[word] = np.asarray(vector, dtype=np.float32)
        missing = [w for w in words if w not in known]
        for i in range(0, len(missing), GET_PAGE):
            batch = missing[i : i + GET_PAGE]
            vectors = self.embeddings.embed_words(batch)
            self._words.upsert(ids=batch, embeddings=vectors)
            known.update(zip(batch, vectors, strict=True))
        if not words:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([known[w] for w in words]).astype(np.float32)

    def close(self) -> None:
        """Let go of the Chroma client this store opened (a client passed in stays open); the
        store cannot be used after."""
        if self._close is not None:
            self._close()

    def count_passages(self) -> int:
        folder = self._file
        if folder is not None:
            found = chroma_file.count(folder, PASSAGES)
            if found is not None:
                return found
        return self._passages.count()

    def facet_values(self) -> dict[str, list[str]]:
        """Distinct provinces, counties, townships and years, for filters and question parsing."""
        version = self.version()
        if self._facets is None or self._facets[0] != version:
            facets = None
            if self._report_cache is None or self._report_cache.version != version:
                facets = self._saved_facets(version)  # a new process need not read every report
            if facets is None:
                facets = self._catalogue().facets
                if self.index_dir is not None:
                    _save_json(self.index_dir / FACETS, {"version": version, "facets": facets})
            self._facets = (version, facets)
        return {key: list(values) for key, values in self._facets[1].items()}

    def _saved_facets(self, version: str) -> dict[str, list[Any]] | None:
        return self._read_saved(
            FACETS, version, lambda saved: {k: list(saved["facets"][k]) for k in FACET_KEYS}
        )


@dataclass
class _Chroma:
    """A store's Chroma client and collections."""

    client: chromadb.ClientAPI
    vectorstore: Chroma
    passages: Collection
    reports: Collection
    info: Collection
    words: Collection
    edits: Collection


_UNREAD = object()  # `PassageStore._read_file`: not read from the file, ask Chroma


WRITE_PAGE = 1000  # passages per upsert (Chroma caps one write's size)
# Writes this process has under way; its other write records are from writes that failed.
_ACTIVE_WRITES: set[str] = set()
# A writer on another machine (a shared Chroma server) cannot be asked if it is alive.
FOREIGN_WRITE_EXPIRES = 24 * 3600


def _writer_is_gone(key: str, record: dict[str, Any]) -> bool:
    """Whether the process that began a write can no longer finish it."""
    if record.get("host") != socket.gethostname():
        return time.time() - float(record.get("started", 0)) > FOREIGN_WRITE_EXPIRES
    pid = int(record.get("pid", 0))
    if pid <= 0:
        return True
    if pid == os.getpid():
        return key not in _ACTIVE_WRITES
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


GET_PAGE = 5000  # Chroma's SQLite refuses one `get` of ~100,000+ records ("too many SQL variables")


def _get_all(
    collection: Any, where: dict[str, Any] | None, include: list[str], page: int = GET_PAGE
) -> dict[str, list[Any]]:
    """`collection.get` for any number of records, fetched page by page."""
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        got = collection.get(where=where, include=include, limit=page, offset=offset)
        out["ids"].extend(got["ids"])
        for key in include:
            values = got.get(key)
            out[key].extend(list(values) if values is not None else [])
        if len(got["ids"]) < page:
            return out
        offset += page


def embedding_text(meta: ReportMeta, passage: Passage) -> str:
    """What is embedded: the township's name in front of the passage helps place questions."""
    return framed(meta, passage.text)


def framed(meta: ReportMeta, text: str) -> str:
    return f"{meta.township}：{text}" if meta.township else text


def _edit_key(source: str) -> str:
    return "edit:" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]


def _place_fields(meta: ReportMeta) -> dict[str, Any]:
    """What passages and reports hold of a report's place and year, for filters."""
    return {
        "township": meta.township or UNKNOWN,
        "county": meta.county or UNKNOWN,
        "city": meta.city or UNKNOWN,
        "province": meta.province or UNKNOWN,
        "year": meta.year or 0,
    }


def _meta_fields(meta: ReportMeta) -> dict[str, Any]:
    """A report record's metadata fields (without its file, sections and fingerprint)."""
    return {
        **_place_fields(meta),
        "published": meta.published or UNKNOWN,
        "title": meta.title or UNKNOWN,
        "kind": meta.kind,
        "warnings": json.dumps(meta.warnings, ensure_ascii=False),
        # where each field was read and how sure that is (ReportMeta.sources / .certainty)
        "sources": json.dumps(meta.sources, ensure_ascii=False),
        "certainty": json.dumps(meta.certainty, ensure_ascii=False),
    }


def _passage_metadata(report: Report, passage: Passage) -> dict[str, Any]:
    meta = report.meta
    return {
        "report_id": report.id,
        **_place_fields(meta),
        "section": passage.section,
        "heading": " > ".join(passage.heading_path),
        "start": passage.start,
        "end": passage.end,
        "ordinal": passage.ordinal,
        "source": report.source,
        "title": meta.title or UNKNOWN,
    }


def _report_metadata(report: Report, fingerprint: str) -> dict[str, Any]:
    return {
        **_meta_fields(report.meta),
        "source": report.source,
        "format": report.format,
        "passages": len(report.passages),
        "fingerprint": fingerprint,
        "sections": json.dumps(
            [[s.type, s.heading, s.start, s.end] for s in report.sections], ensure_ascii=False
        ),
    }


def _stored_report(report_id: str, m: dict[str, Any], text: str | None) -> StoredReport:
    meta = ReportMeta(
        township=m.get("township") or None,
        county=m.get("county") or None,
        city=m.get("city") or None,
        province=m.get("province") or None,
        year=m.get("year") or None,
        published=m.get("published") or None,
        title=m.get("title") or None,
        kind=m.get("kind", "annual_report"),
        warnings=fastjson.loads(m.get("warnings") or "[]"),
        sources=fastjson.loads(m.get("sources") or "{}"),
        certainty=fastjson.loads(m.get("certainty") or "{}"),
    )
    sections = [
        Section(type=t, heading=h, start=a, end=b) for t, h, a, b in fastjson.loads(m["sections"])
    ]
    return StoredReport(
        id=report_id,
        source=m.get("source", ""),
        format=m.get("format", ""),
        meta=meta,
        sections=sections,
        passage_count=int(m.get("passages", 0)),
        fingerprint=str(m.get("fingerprint", "")),
        text=text,
    )


class _Catalogue:
    """The stored reports at one store version, with what filters and facets need of them."""

    def __init__(self, version: str, reports: list[StoredReport]) -> None:
        self.version = version
        self.reports = reports
        self.fields = [_report_filter_fields(r) for r in reports]
        facets: dict[str, set[Any]] = {k: set() for k in FACET_KEYS}
        for report in reports:
            for key, values in facets.items():
                value = getattr(report.meta, key)
                if value:
                    values.add(value)
        self.facets = {key: sorted(values) for key, values in facets.items()}


def _report_filter_fields(report: StoredReport) -> dict[str, Any]:
    return {
        "township": report.meta.township or UNKNOWN,
        "county": report.meta.county or UNKNOWN,
        "province": report.meta.province or UNKNOWN,
        "report_id": report.id,
        "year": report.meta.year or 0,
    }
