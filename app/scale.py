"""A scale harness with known truth: `fazhi eval --scale N` and `bench/scale.py`.

Larger corpora are recombined from the bundled reports' typed sections. A synthetic report is
the opening of report A (its title and preamble, measures, innovations, duty sections), the
problems sections of report B and the plans sections of report C, renamed to a real township of
the gazetteer; an *opening-only* report has A's opening and nothing else. A gold question's
truth for a synthetic report follows from where each gold township's evidence lies: the report
is a gold township iff it took, from a gold township, the part holding that township's quote.

Passages are cut per section, so a recombined report's passages are mostly the source's own
texts and reuse their stored vectors; only passages that changed (the renamed title, sentences
naming the township) are embedded. A reused vector was embedded with the source's township name
in front (`embedding_text`), a few characters of a passage.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.answers.service import AnswerService
from app.batch import BatchQuestion, answer_questions
from app.evaluate import GoldItem
from app.question import parse_question
from ingest.errors import FazhiError
from ingest.gazetteer import Place, gazetteer, province_short
from ingest.model import LoadedDocument, Report
from ingest.passages import ChunkSettings
from ingest.pipeline import fingerprint, report_from_document
from vectorstore import PassageStore, StoredReport
from vectorstore.store import PASSAGES, embedding_text

__all__ = [
    "ScaleCorpus",
    "ScaleError",
    "ScaleTally",
    "build_corpus",
    "format_scale",
    "gold_truth",
    "grow",
    "run_scale_eval",
    "score_scale",
]

Part = Literal["opening", "problems", "plans"]
PARTS: tuple[Part, ...] = ("opening", "problems", "plans")
OPENING_ONLY_SHARE = 0.4
WRITE_BATCH = 50


class ScaleError(FazhiError):
    """The scale harness cannot run: the store is not the bundled corpus, or is not empty."""


def part_of(section_type: str) -> Part:
    """Which recombined part a section belongs to: problems, plans, or the report's opening."""
    if section_type in ("problems", "plans"):
        return section_type  # type: ignore[return-value]
    return "opening"


@dataclass
class SourceReport:
    """One bundled report, cut into the parts a synthetic report takes."""

    stored: StoredReport
    parts: dict[Part, str]  # each part's text, sections in report order
    signature: str  # 落款, kept with the opening

    @property
    def township(self) -> str:
        return self.stored.meta.township or ""

    def names(self) -> list[str]:
        """Its place names as written in its text, longest first (renamed in recombined text)."""
        m = self.stored.meta
        found = [n for n in (m.township, m.county, m.city, m.province) if n]
        return sorted(set(found), key=len, reverse=True)


def _source(stored: StoredReport) -> SourceReport:
    text = stored.text or ""
    parts: dict[Part, str] = {p: "" for p in PARTS}
    signature = ""
    for s in stored.sections:
        chunk = text[s.start : s.end]
        if not chunk.endswith("\n"):
            chunk += "\n"
        if s.heading == "落款":
            signature += chunk
        else:
            parts[part_of(s.type)] += chunk
    return SourceReport(stored, parts, signature)


@dataclass
class SyntheticReport:
    """A report of the scale corpus and which source township gave each of its parts."""

    report_id: str
    township: str
    county: str | None
    province: str | None
    year: int | None
    sources: dict[Part, str]  # part → source township; a missing part was not taken
    original: bool = False

    @property
    def opening_only(self) -> bool:
        return "problems" not in self.sources and "plans" not in self.sources


@dataclass
class ScaleCorpus:
    """The reports in a scale store, with what is needed to grow it further."""

    store: PassageStore
    seed: int
    sources: list[SourceReport]
    reports: list[SyntheticReport] = field(default_factory=list)
    opening_share: float = OPENING_ONLY_SHARE
    names_rejected: int = 0  # gazetteer names whose metadata did not read back as intended
    embedded: int = 0  # passages embedded (new texts); the rest reused a source vector
    reused: int = 0
    _rng: random.Random = field(default_factory=random.Random)
    _order: list[int] = field(default_factory=list)  # the sources in a seeded order
    _full_made: int = 0
    _openings_made: int = 0
    _places: list[str] = field(default_factory=list)
    _names_used: set[str] = field(default_factory=set)
    _vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def by_township(self) -> dict[str, SyntheticReport]:
        return {r.township: r for r in self.reports}


def build_corpus(
    store: PassageStore,
    size: int,
    *,
    seed: int = 16,
    opening_share: float = OPENING_ONLY_SHARE,
    progress: Callable[[int, int], None] | None = None,
) -> ScaleCorpus:
    """A scale corpus of `size` reports over a store holding exactly the bundled reports."""
    stored = [store.get_report(r.id) for r in store.list_reports()]
    if not stored or any(not r.meta.township for r in stored):
        raise ScaleError(
            f"the store at {store.location} must hold only the bundled sample reports, each with "
            "its township; use an empty --store (or none) for `fazhi eval --scale`"
        )
    corpus = ScaleCorpus(
        store=store,
        seed=seed,
        sources=[_source(r) for r in stored],
        opening_share=opening_share,
        _rng=random.Random(seed),
    )
    for r in stored:
        m = r.meta
        corpus.reports.append(
            SyntheticReport(
                r.id,
                m.township or "",
                m.county,
                m.province,
                m.year,
                {p: m.township or "" for p in PARTS},
                original=True,
            )
        )
    corpus._vectors = _source_vectors(store, [r.id for r in stored])
    g = gazetteer()
    codes = sorted(code for code in g._names if len(code) == 9)
    corpus._rng.shuffle(codes)
    corpus._places = codes
    corpus._order = corpus._rng.sample(range(len(corpus.sources)), len(corpus.sources))
    corpus._names_used = {r.township for r in corpus.reports}
    grow(corpus, size, progress=progress)
    return corpus


def _source_vectors(store: PassageStore, report_ids: list[str]) -> dict[str, np.ndarray]:
    got = store.client.get_collection(PASSAGES).get(
        where={"report_id": {"$in": report_ids}}, include=["documents", "embeddings"]
    )
    return {
        text: np.asarray(vector, dtype=np.float32)
        for text, vector in zip(got["documents"], got["embeddings"], strict=True)
    }


def grow(
    corpus: ScaleCorpus, size: int, *, progress: Callable[[int, int], None] | None = None
) -> None:
    """Add recombined reports until the corpus holds `size` (a smaller corpus is a prefix of a
    larger one with the same seed)."""
    pending: list[tuple[Report, SyntheticReport]] = []
    start = len(corpus.reports)
    while len(corpus.reports) + len(pending) < size:
        report, synthetic = _next_report(corpus)
        pending.append((report, synthetic))
        if len(pending) >= WRITE_BATCH:
            _write(corpus, pending)
            if progress:
                progress(len(corpus.reports) - start, size - start)
    _write(corpus, pending)
    if progress:
        progress(len(corpus.reports) - start, size - start)


def _next_parts(corpus: ScaleCorpus) -> tuple[SourceReport, SourceReport, SourceReport, bool]:
    """The next report's sources (opening, problems, plans) and whether it is opening-only.

    Balanced, not drawn at random: every source gives each part equally often at every size
    (problems and plans to within one; openings, counted over full and opening-only reports,
    to within two), as each gives its own parts once among the bundled reports. A random draw
    weighted some sources' parts by chance (one opening 33 times, another 22 of 125), and a
    question's recall then moved with the draw, not with the corpus size. Full reports take
    the n^3 (opening, problems, plans) combinations in turn, each aligned run of n giving
    every source once in each part (the first n are the sources' own three parts, renamed);
    opening-only reports take the openings in turn.
    """
    n, made = len(corpus.sources), corpus._full_made + corpus._openings_made
    opening_only = int((made + 1) * corpus.opening_share) > int(made * corpus.opening_share)
    order = corpus._order
    if opening_only:
        k = corpus._openings_made
        corpus._openings_made += 1
        a = order[k % n]
        return corpus.sources[a], corpus.sources[a], corpus.sources[a], True
    j = corpus._full_made
    corpus._full_made += 1
    k = j // n
    a, b, c = order[j % n], order[(j + k) % n], order[(j + 2 * k + k // n) % n]
    return corpus.sources[a], corpus.sources[b], corpus.sources[c], False


def _next_report(corpus: ScaleCorpus) -> tuple[Report, SyntheticReport]:
    g = gazetteer()
    a, b, c, opening_only = _next_parts(corpus)
    while corpus._places:
        place = g.place(corpus._places.pop())
        if place.name in corpus._names_used:
            continue  # answers name townships: two reports of one name could not be told apart
        if len(g.townships(place.name, within=place.county)) != 1:
            continue  # 市中区永安镇: a county name several cities share cannot settle the name
        n = len(corpus.reports)
        text = _rename(a.parts["opening"], a, place)
        sources: dict[Part, str] = {"opening": a.township}
        if not opening_only:
            text += _rename(b.parts["problems"], b, place) + _rename(c.parts["plans"], c, place)
            sources.update(problems=b.township, plans=c.township)
        text += _rename(a.signature, a, place)
        doc = LoadedDocument(source=Path(f"scale/{n:05d}.txt"), text=text, format="txt")
        report = report_from_document(doc, chunking=_chunking(corpus.store))
        m = report.meta
        if (m.township, m.county) != (place.name, place.county):
            corpus.names_rejected += 1
            continue
        corpus._names_used.add(place.name)
        return report, SyntheticReport(report.id, place.name, m.county, m.province, m.year, sources)
    raise ScaleError("the gazetteer has no more township names for the scale corpus")


def _chunking(store: PassageStore) -> ChunkSettings:
    """The chunk sizes the store was built with (recorded as `chunk_*` settings)."""
    fields = ("target_chars", "max_chars", "min_chars")
    sizes = {f: store.chunking[f"chunk_{f}"] for f in fields if f"chunk_{f}" in store.chunking}
    return ChunkSettings(**sizes)


def _rename(text: str, source: SourceReport, place: Place) -> str:
    """`text` with the source's place names replaced by the new township's (one pass)."""
    wanted = {
        source.stored.meta.township: place.name,
        source.stored.meta.county: place.county,
        source.stored.meta.city: place.city or place.province,
        source.stored.meta.province: place.province,
    }
    names = [n for n in source.names() if wanted.get(n)]
    if not names:
        return text
    pattern = re.compile("|".join(re.escape(n) for n in names))
    return pattern.sub(lambda m: wanted[m.group()] or m.group(), text)


def _write(corpus: ScaleCorpus, pending: list[tuple[Report, SyntheticReport]]) -> None:
    if not pending:
        return
    missing = [
        (report, p)
        for report, _ in pending
        for p in report.passages
        if p.text not in corpus._vectors
    ]
    if missing:
        vectors = corpus.store.embeddings.embed_passages(
            [embedding_text(report.meta, p) for report, p in missing]
        )
        for (_, p), v in zip(missing, vectors, strict=True):
            corpus._vectors.setdefault(p.text, np.asarray(v, dtype=np.float32))
        corpus.embedded += len(missing)
    chunking = _chunking(corpus.store)
    items = []
    for report, _ in pending:
        vectors = np.stack([corpus._vectors[p.text] for p in report.passages])
        items.append((report, fingerprint(report, chunking), vectors))
    corpus.reused += sum(len(r.passages) for r, _ in pending) - len(missing)
    corpus.store.add_reports(items)
    corpus.reports.extend(s for _, s in pending)
    pending.clear()


# -- truth ---------------------------------------------------------------------------------------
def evidence_parts(item: GoldItem, corpus: ScaleCorpus) -> dict[str, Part] | None:
    """For each gold township of `item`, the part its evidence quote lies in; None when some
    gold township's evidence cannot be placed in its report's stored text."""
    by_township = {s.township: s for s in corpus.sources}
    parts: dict[str, Part] = {}
    for ev in item.evidence:
        source = by_township.get(ev.get("township", ""))
        text = source.stored.text if source else None
        at = text.find(ev.get("quote", "")) if text and ev.get("quote") else -1
        if source is None or at < 0:
            return None
        section = next((s for s in source.stored.sections if s.start <= at < s.end), None)
        if section is None:
            return None
        parts[source.township] = part_of(section.type)
    if set(item.townships) - set(parts):
        return None  # a gold township without placeable evidence
    return parts


def _in_scope(report: SyntheticReport, filters: dict[str, Any]) -> bool:
    """Whether a gold item's scope (as its question words it) holds the report. Sets write it
    as single values (year, province) or lists (years, provinces); both are read."""

    def listed(many: str, one: str) -> list[Any]:
        value = filters.get(one)  # a set's single key may hold a list too ("county": [...])
        ones = value if isinstance(value, list) else [] if value is None else [value]
        return [*filters.get(many, []), *ones]

    year = report.year or 0
    years = listed("years", "year")
    if years and year not in years:
        return False
    if "year_min" in filters and year < filters["year_min"]:
        return False
    if "year_max" in filters and year > filters["year_max"]:
        return False
    province = province_short(report.province or "")
    provinces = {province_short(p) for p in listed("provinces", "province")}
    left_out = {province_short(p) for p in listed("provinces_not", "province_not")}
    if (provinces and province not in provinces) or province in left_out:
        return False
    townships = listed("townships", "township")
    if (townships and report.township not in townships) or (
        report.township == filters.get("exclude_township")
    ):
        return False
    counties = listed("counties", "county")
    return not counties or report.county in counties


def is_negation(item: GoldItem) -> bool:
    """Whether the item asks which reports lack something (its truth cannot be placed)."""
    return parse_question(item.question, {}).claim == "negation"


def gold_truth(item: GoldItem, corpus: ScaleCorpus, filters: dict[str, Any]) -> set[str] | None:
    """The townships of the scale corpus that answer `item`, or None if it cannot be placed:
    its evidence is not in its report's text, or it asks for an absence ("哪些镇没有提到X":
    where a quote lies says nothing of which reports lack X)."""
    if is_negation(item):
        return None
    parts = evidence_parts(item, corpus)
    if parts is None:
        return None
    return {
        r.township
        for r in corpus.reports
        if _in_scope(r, filters) and any(r.sources.get(p) == t for t, p in parts.items())
    }


# -- scoring -------------------------------------------------------------------------------------
@dataclass
class ScaleTally:
    questions: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    fn_with_related: int = 0  # truth townships neither 明确提到 nor 相关
    fp_sharing_a_gold_source: int = 0  # listed, not truth, but holds another part of a gold report
    # ...and cited from that part's own text: whether that part also states the claim, the gold
    # set (one quote per township) cannot say; at 5 reports such a passage lists a gold township
    fp_cited_from_a_gold_source: int = 0
    opening_only_listed: int = 0  # on questions whose evidence lies only in problems/plans
    none_questions: int = 0
    invented: int = 0
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # the bundled reports' grades, question by question ("id township" → grade), the part
    # each listed one is cited from, and how many grades differ from those graded among the
    # bundled reports alone (None: not compared)
    bundled: dict[str, str] = field(default_factory=dict)
    bundled_cited: dict[str, Part] = field(default_factory=dict)
    bundled_moved: int | None = None
    # what the tally would be if every report were listed as its sources are among the bundled
    # reports alone (a report is listed when a part it took was what listed its source): the
    # corpus's own mix of parts and questions, without any effect of its size
    as_sources: tuple[int, int, int] | None = None  # tp, decidable fp, fn

    def metrics(self) -> dict[str, float | None]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        decidable = self.tp + self.fp - self.fp_cited_from_a_gold_source
        return {
            "township_precision": precision,
            "township_precision_decidable": self.tp / decidable if decidable else 1.0,
            "township_recall": recall,
            "township_f1": f1,
            "township_recall_with_related": (self.tp + self.fn - self.fn_with_related)
            / (self.tp + self.fn)
            if self.tp + self.fn
            else 1.0,
            "invented_townships_count": float(self.invented),
            "opening_only_listed_for_problems_plans": float(self.opening_only_listed),
            "false_positives_sharing_a_gold_source": float(self.fp_sharing_a_gold_source),
            "false_positives_cited_from_a_gold_source": float(self.fp_cited_from_a_gold_source),
            "bundled_grades_moved": None
            if self.bundled_moved is None
            else float(self.bundled_moved),
            **self._as_sources(),
            "scored_questions": float(self.questions),
            "skipped_questions": float(len(self.skipped)),
        }

    def _as_sources(self) -> dict[str, float | None]:
        if self.as_sources is None:
            return {"township_precision_as_sources": None, "township_recall_as_sources": None}
        tp, fp, fn = self.as_sources
        return {
            "township_precision_as_sources": tp / (tp + fp) if tp + fp else 1.0,
            "township_recall_as_sources": tp / (tp + fn) if tp + fn else 1.0,
        }


def load_filters(path: Path) -> dict[str, dict[str, Any]]:
    """Each gold item's `filters` (the scope its wording states), by id."""
    out: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            out[data["id"]] = dict(data.get("filters") or {})
    return out


def score_scale(
    service: AnswerService,
    corpus: ScaleCorpus,
    gold: list[GoldItem],
    filters: dict[str, dict[str, Any]],
    *,
    alone: ScaleTally | None = None,
) -> ScaleTally:
    """Township precision and recall of the corpus-wide and practice questions over the corpus,
    invented townships on unanswerable ones. Lookups are not scored here (`fazhi eval` does).

    `alone`: the tally of the same questions over the bundled reports alone. How many of their
    grades differ here is `bundled_grades_moved`, which a verdict decided per report keeps at
    0; and precision and recall "as sources" are what they would be here if every report were
    listed as its sources are there. The corpus mixes parts and questions otherwise than the
    five reports do (an opening is in every report, a problems part in three of five), so its
    figures differ from theirs even when no report's grade depends on the corpus; the
    difference between a size's figures and its "as sources" ones is what the size changed.
    """
    tally = ScaleTally()
    bundled = {r.township for r in corpus.reports if r.original}
    new_names = [r.township for r in corpus.reports if not r.original]
    scored: list[tuple[GoldItem, set[str], bool]] = []
    for item in gold:
        if item.kind == "none":
            if any(name in item.question for name in new_names):
                # 宝丰县周庄镇… is unanswerable only while no report of 周庄镇 is in the store
                tally.skipped.append(f"{item.id}: names a township of the scale corpus")
            else:
                scored.append((item, set(), False))
            continue
        if item.kind not in ("corpus", "practice"):
            continue
        truth = gold_truth(item, corpus, filters.get(item.id, {}))
        if truth is None:
            why = (
                "a negation question (its truth is not placed)"
                if is_negation(item)
                else "evidence not found in its report's text"
            )
            tally.skipped.append(f"{item.id}: {why}")
            continue
        parts = set((evidence_parts(item, corpus) or {}).values())
        scored.append((item, truth, bool(parts) and parts <= {"problems", "plans"}))
    reports = corpus.by_township()
    questions = [BatchQuestion(item.question, id=item.id) for item, _, _ in scored]
    for (item, truth, later_parts), result in zip(
        scored, answer_questions(service, questions), strict=True
    ):
        if result.answer is None:
            raise ScaleError(f"gold item {item.id}: {result.error}")
        got = set(result.answer.townships)
        if item.kind == "none":
            tally.none_questions += 1
            tally.invented += len(got)
            continue
        tally.questions += 1
        citations = result.answer.citations
        for v in result.answer.verdicts or []:
            if v.township in bundled:
                tally.bundled[f"{item.id} {v.township}"] = v.grade
                if v.township in got and v.citation:
                    cited = part_of(citations[v.citation - 1].section)
                    tally.bundled_cited[f"{item.id} {v.township}"] = cited
        if alone is not None:
            _tally_as_sources(tally, item, truth, got, corpus, filters.get(item.id, {}), alone)
        tally.tp += len(got & truth)
        tally.fp += len(got - truth)
        tally.fn += len(truth - got)
        tally.fn_with_related += len(truth - got - {r.township for r in result.answer.related})
        gold_sources = set(item.townships)
        quotes = {c.township: c.quote for c in reversed(result.answer.citations)}
        for name in got - truth:
            report = reports.get(name)
            if report and gold_sources & set(report.sources.values()):
                tally.fp_sharing_a_gold_source += 1
                if _cited_from_gold(quotes.get(name, ""), report, gold_sources, corpus):
                    tally.fp_cited_from_a_gold_source += 1
            if later_parts and report and report.opening_only:
                tally.opening_only_listed += 1
        if got != truth:
            tally.failures.append(
                f"{item.id} +{len(got - truth)} / missing {len(truth - got)} "
                f"(truth {len(truth)}): {item.question}"
            )
    if alone is not None:
        tally.bundled_moved = sum(
            grade != alone.bundled.get(key) for key, grade in tally.bundled.items()
        )
    return tally


def _tally_as_sources(
    tally: ScaleTally,
    item: GoldItem,
    truth: set[str],
    got: set[str],
    corpus: ScaleCorpus,
    filters: dict[str, Any],
    alone: ScaleTally,
) -> None:
    """Add one question to `tally.as_sources`: a report in scope is listed when one of its
    parts is the part its source was listed from, alone; a false positive listed from a gold
    township's part is not decidable (as `fp_cited_from_a_gold_source`). A report with a part
    from a source the question's scope left ungraded alone (another year, another province)
    cannot be predicted: it counts as it was graded (`got`), the same in both figures."""
    tp, fp, fn = tally.as_sources or (0, 0, 0)
    gold = set(item.townships)
    for report in corpus.reports:
        if not _in_scope(report, filters):
            continue
        if any(f"{item.id} {source}" not in alone.bundled for source in report.sources.values()):
            listing = list(report.sources.values()) if report.township in got else []
        else:
            listing = [
                source
                for part, source in report.sources.items()
                if alone.bundled_cited.get(f"{item.id} {source}") == part
            ]
        if report.township in truth:
            tp, fn = (tp + 1, fn) if listing else (tp, fn + 1)
        elif listing and not gold & set(listing):
            fp += 1
    tally.as_sources = (tp, fp, fn)


def _cited_from_gold(
    quote: str, report: SyntheticReport, gold: set[str], corpus: ScaleCorpus
) -> bool:
    """Whether the quote lies in a part the report took from a gold township."""
    sources = {s.township: s for s in corpus.sources}
    return bool(quote) and any(
        township in gold and township in sources and quote in sources[township].parts[part]
        for part, township in report.sources.items()
    )


def corpus_summary(corpus: ScaleCorpus) -> dict[str, Any]:
    return {
        "reports": len(corpus.reports),
        "opening_only": sum(r.opening_only for r in corpus.reports),
        "seed": corpus.seed,
        "passages_embedded": corpus.embedded,
        "passages_reused": corpus.reused,
        "names_rejected": corpus.names_rejected,
    }


# -- `fazhi eval --scale N` ----------------------------------------------------------------------
def run_scale_eval(
    service: AnswerService,
    gold_path: Path,
    sizes: list[int],
    *,
    seed: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score `gold_path` over the bundled reports, then over the scale corpus grown to each of
    `sizes` in the same store (which must hold exactly the bundled reports to begin with)."""
    from app.evaluate import load_gold

    gold, filters = load_gold(gold_path), load_filters(gold_path)
    corpus = build_corpus(service.store, 0, seed=seed)
    runs = []
    alone: ScaleTally | None = None
    for size in sorted({len(corpus.reports), *sizes}):
        grow(corpus, size, progress=progress)
        tally = score_scale(service, corpus, gold, filters, alone=alone)
        alone = alone or tally
        runs.append(
            {
                "corpus": corpus_summary(corpus),
                "fazhi": tally.metrics(),
                "skipped": tally.skipped,
                "failures": tally.failures,
            }
        )
    return {"gold": str(gold_path), "questions": len(gold), "sizes": runs}


SCALE_COLUMNS = (
    ("township_precision", "precision", "{:.3f}"),
    ("township_precision_decidable", "precision (decidable)", "{:.3f}"),
    ("township_recall", "recall", "{:.3f}"),
    ("township_f1", "F1", "{:.3f}"),
    ("township_recall_with_related", "recall with 相关", "{:.3f}"),
    ("invented_townships_count", "invented", "{:.0f}"),
    ("opening_only_listed_for_problems_plans", "opening-only listed (problems/plans)", "{:.0f}"),
    ("false_positives_sharing_a_gold_source", "FP sharing a gold source", "{:.0f}"),
    ("false_positives_cited_from_a_gold_source", "…cited from it", "{:.0f}"),
    ("bundled_grades_moved", "bundled reports' grades moved", "{:.0f}"),
    ("township_precision_as_sources", "precision as sources", "{:.3f}"),
    ("township_recall_as_sources", "recall as sources", "{:.3f}"),
)


def scale_cell(metrics: dict[str, float | None], key: str, fmt: str) -> str:
    """One cell of a scale table; a figure not measured at this size shows as —."""
    value = metrics.get(key)
    return "—" if value is None else fmt.format(value)


def table_by_set(head: list[str], rows: list[str], sets: list[str]) -> str:
    """A Markdown table of the benches' row strings ("| set | …"), grouped by gold set."""
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return "\n".join([*lines, *(r for name in sets for r in rows if r.startswith(f"| {name} |"))])


def format_scale(result: dict[str, Any]) -> str:
    """One Markdown table row per corpus size."""
    head = "| reports | opening-only | " + " | ".join(c[1] for c in SCALE_COLUMNS) + " |"
    lines = [head, "|" + " --- |" * (len(SCALE_COLUMNS) + 2)]
    for run in result["sizes"]:
        cells = [run["corpus"]["reports"], run["corpus"]["opening_only"]]
        cells += [scale_cell(run["fazhi"], key, fmt) for key, _, fmt in SCALE_COLUMNS]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    first = result["sizes"][0]
    lines.append(
        f"\n{first['fazhi']['scored_questions']:.0f} corpus/practice questions scored, "
        f"{first['fazhi']['skipped_questions']:.0f} skipped (listed below), "
        "lookups not scored at scale"
    )
    return "\n".join(lines)
