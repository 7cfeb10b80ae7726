"""Per-report metadata: township, county, city, province, year, publication date, title, kind.

The township and year come from the title and text (no gazetteer knows townships); county, city
and province come from the gazetteer. A sidecar `<file>.meta.json` or a `manifest.csv` row
overrides any field.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ingest.errors import SidecarError
from ingest.gazetteer import locate
from ingest.model import ReportMeta

_HEADING_START = re.compile(r"^([一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)])")
_TOWNSHIP = re.compile(
    r"([\u4e00-\u9fff]{1,10}?(?:民族乡|镇|乡|街道))(?:办事处)?(?=人民政府|党委|政府|关于|\d|法治|[ ，,]|$)"
)
_BODY_TOWNSHIP = re.compile(r"([\u4e00-\u9fff]{2,5}?(?:民族乡|镇|乡|街道))")
_NOT_TOWNSHIP = re.compile(
    r"^(全|我|本|各|该|城|村|乡|集|小|重|市|县|区)|城乡|乡镇|村镇|城镇|^街道$"
)
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_ISO_DATE = re.compile(
    r"(?:日期|发布时间|时间)\s*[:：]\s*((?:19|20)\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})"
)
_CN_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_SIDECAR_HINT = (
    "set it in a sidecar file '{name}.meta.json' next to the report, "
    'e.g. {{"township": "石桥镇", "year": 2023}}'
)


class MetadataOverride(BaseModel):
    """Fields a sidecar or manifest row may set; anything else is an error."""

    model_config = ConfigDict(extra="forbid")
    township: str | None = None
    county: str | None = None
    city: str | None = None
    province: str | None = None
    year: int | None = None
    published: str | None = None
    title: str | None = None
    kind: str | None = None


def header_lines(text: str, limit: int = 6) -> list[str]:
    """The lines above the body: sender, title, addressee (short lines, no sentence end)."""
    lines: list[str] = []
    for line in text.split("\n"):
        if not line:
            continue
        if _HEADING_START.match(line) or len(line) > 70 or len(lines) >= limit:
            break
        if line.endswith("。") or (line.endswith(("：", ":")) and len(line) > 20):
            break
        lines.append(line)
    return lines


def find_title(lines: list[str], hint: str | None = None) -> str | None:
    for i, line in enumerate(lines):
        if "报告" in line or "述职" in line or "自查" in line:
            if line.startswith("关于") and i > 0 and not lines[i - 1].startswith("关于"):
                return lines[i - 1] + line
            return line
    return hint


def _kind(title: str | None) -> str:
    if title and "述职" in title:
        return "duty_report"
    if title and "自查" in title:
        return "self_inspection"
    return "annual_report"


def _published(raw_text: str, hint: str | None) -> str | None:
    if hint:
        return hint
    match = _ISO_DATE.search(raw_text[:600])
    if not match:
        tail = raw_text.strip()[-120:]
        dates = _CN_DATE.findall(tail)
        match_groups = dates[-1] if dates else None
    else:
        match_groups = match.groups()
    if not match_groups:
        return None
    y, m, d = (int(x) for x in match_groups)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{m:02d}-{d:02d}"


def _township_from_body(text: str) -> str | None:
    counts = Counter(
        name
        for name in _BODY_TOWNSHIP.findall(text)
        if not _NOT_TOWNSHIP.search(name) and len(name) >= 3
    )
    if not counts:
        return None
    name, n = counts.most_common(1)[0]
    return name if n >= 2 else None


def extract_metadata(
    text: str,
    *,
    raw_text: str | None = None,
    title_hint: str | None = None,
    published_hint: str | None = None,
    source_name: str = "report",
) -> ReportMeta:
    """Read metadata off a cleaned report text; warnings say what could not be determined."""
    meta = ReportMeta()
    lines = header_lines(text)
    meta.title = find_title(lines, title_hint)
    meta.kind = _kind(meta.title)  # type: ignore[assignment]
    header = "".join(lines) or (title_hint or "")
    place = locate(header, context=text[:3000])
    if not place.county:
        place = locate(text[:400], context=text[:3000])
    meta.province, meta.city, meta.county = place.province, place.city, place.county
    if place.ambiguous:
        meta.warnings.append(
            f"county '{place.county}' exists in several cities ({'、'.join(place.ambiguous)}) "
            "and the report names none of them; province left unknown — "
            + _SIDECAR_HINT.format(name=source_name)
        )
    match = _TOWNSHIP.search(place.rest) or _TOWNSHIP.search(header)
    if match and not _NOT_TOWNSHIP.search(match.group(1)):
        meta.township = match.group(1)
    else:
        meta.township = _township_from_body(text)
    if not meta.township:
        meta.warnings.append("township not found; " + _SIDECAR_HINT.format(name=source_name))
    year_match = _YEAR.search(meta.title or "") or _YEAR.search(header)
    if year_match:
        meta.year = int(year_match.group(1))
    else:
        meta.warnings.append(
            "year reported on not found; " + _SIDECAR_HINT.format(name=source_name)
        )
    meta.published = _published(raw_text or text, published_hint)
    return meta


def read_override(path: Path) -> MetadataOverride | None:
    """The sidecar (`<file>.meta.json` or `<stem>.meta.json`) or manifest row for `path`."""
    for sidecar in (path.with_name(path.name + ".meta.json"), path.with_suffix(".meta.json")):
        if sidecar.is_file():
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
                return MetadataOverride.model_validate(data)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise SidecarError(sidecar, f"not valid UTF-8 JSON ({exc})") from exc
            except ValidationError as exc:
                raise SidecarError(sidecar, _validation_reason(exc)) from exc
    manifest = path.parent / "manifest.csv"
    if manifest.is_file():
        with manifest.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                if (row.get("file") or "").strip() == path.name:
                    data = {k: v for k, v in row.items() if k != "file" and v not in (None, "")}
                    try:
                        return MetadataOverride.model_validate(data)
                    except ValidationError as exc:
                        raise SidecarError(manifest, _validation_reason(exc)) from exc
    return None


def _validation_reason(exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )
    return (
        f"invalid metadata ({problems}); allowed keys: {', '.join(MetadataOverride.model_fields)}"
    )


def apply_override(meta: ReportMeta, override: MetadataOverride | None) -> ReportMeta:
    if override is None:
        return meta
    values: dict[str, Any] = override.model_dump(exclude_none=True)
    for key, value in values.items():
        setattr(meta, key, value)
    if "township" in values:
        meta.warnings = [w for w in meta.warnings if not w.startswith("township")]
    if "year" in values:
        meta.warnings = [w for w in meta.warnings if not w.startswith("year")]
    if "province" in values:
        meta.warnings = [w for w in meta.warnings if not w.startswith("county")]
    return meta
