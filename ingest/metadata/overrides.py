"""A sidecar `<file>.meta.json` or a `manifest.csv` row: what a user says about a report wins.

Every field it sets is recorded as coming from there, for sure, and clears that field's warning.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from ingest.errors import SidecarError
from ingest.metadata.places import fill_places_from_county, fill_places_from_township
from ingest.model import ReportMeta


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
    _origin: str = PrivateAttr(default="sidecar")  # sidecar or manifest


def read_override(path: Path) -> MetadataOverride | None:
    """The sidecar (`<file>.meta.json` or `<stem>.meta.json`) or manifest row for `path`."""
    for sidecar in (path.with_name(path.name + ".meta.json"), path.with_suffix(".meta.json")):
        if sidecar.is_file():
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
                return _override(data, "sidecar")
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
                        return _override(data, "manifest")
                    except ValidationError as exc:
                        raise SidecarError(manifest, _validation_reason(exc)) from exc
    return None


def _override(data: object, origin: str) -> MetadataOverride:
    override = MetadataOverride.model_validate(data)
    override._origin = origin
    return override


def _validation_reason(exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )
    return (
        f"invalid metadata ({problems}); allowed keys: {', '.join(MetadataOverride.model_fields)}"
    )


def _set_fields(meta: ReportMeta, values: dict[str, Any], origin: str) -> None:
    """What a user said wins: each field set, recorded as coming from `origin`, for sure."""
    for key, value in values.items():
        setattr(meta, key, value)
        meta.sources[key] = origin
        meta.certainty[key] = "sure"


def apply_override(meta: ReportMeta, override: MetadataOverride | None) -> ReportMeta:
    """Set what the sidecar or manifest says; a township given without its county takes its
    county, city and province from the gazetteer when the name is unique there."""
    if override is None:
        return meta
    values: dict[str, Any] = override.model_dump(exclude_none=True)
    _set_fields(meta, values, override._origin)
    if "township" in values and "county" not in values:
        fill_places_from_township(meta, keep_county=False)
    elif "county" in values and "province" not in values:
        fill_places_from_county(meta)
    for key, prefix in (("township", "township"), ("year", "year"), ("province", "county")):
        if key in values or (key == "province" and meta.certainty.get("county") == "sure"):
            meta.warnings = [w for w in meta.warnings if not w.startswith(prefix)]
    return meta


# Fields an edit (`fazhi meta`, the 报告 tab) may set, and the warnings each one settles.
EDITABLE_FIELDS = tuple(MetadataOverride.model_fields)
_SETTLES = {"township": "township", "year": "year", "county": "county", "province": "county"}


def apply_edit(meta: ReportMeta, fields: dict[str, Any]) -> ReportMeta:
    """Set the fields a user edited, as given (None clears one): no gazetteer look-up here, the
    editor resolved county, city and province already, so applying an edit again (after a
    re-ingest) gives exactly the same metadata."""
    # a field an edit recorded by a newer fazhi may hold is skipped; the others still apply
    _set_fields(meta, {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}, "edited")
    settled = {prefix for key, prefix in _SETTLES.items() if key in fields}
    meta.warnings = [w for w in meta.warnings if not any(w.startswith(p) for p in settled)]
    return meta
