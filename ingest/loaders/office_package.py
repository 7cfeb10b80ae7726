"""An Office file's zip package, checked part by part before anything parses it.

A .docx is a zip archive; a 1 MB one can hold a `word/document.xml` that unpacks to gigabytes
(a zip bomb) and takes the machine's memory when parsed. `check_package` refuses such a file from
the sizes its parts declare, then unpacks each part as a bounded stream, counting bytes and
keeping none, so a part whose header lies about its size is caught too.
"""

from __future__ import annotations

import copy
import zipfile
import zlib

from ingest.loaders.failure import LoadFailure, format_size
from ingest.loaders.limits import EXPANSION_FACTOR, ExpansionLimits

_CHUNK = 1024 * 1024
_ENCRYPTED = 0x1


def check_package(package: zipfile.ZipFile, limits: ExpansionLimits) -> None:
    """Raise `LoadFailure` if any part, or all of them together, unpacks beyond `limits`."""
    parts = [part for part in package.infolist() if not part.is_dir()]
    if len(parts) > limits.max_parts:
        raise LoadFailure(
            f"the package holds {len(parts):,} parts (limit {limits.max_parts:,}); "
            "a Word document has a few dozen: this is not a report"
        )
    for part in parts:
        if part.flag_bits & _ENCRYPTED:
            raise LoadFailure(
                "the document is password-protected; save a copy without a password first"
            )
        if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise LoadFailure(
                f"{part.filename} is packed with a method Word and WPS do not use; "
                "open the file in Word or WPS and save it as .docx again"
            )
        if part.file_size > limits.part_bytes:
            raise LoadFailure(_too_large(part.filename, part.file_size, limits.part_bytes))
    declared = sum(part.file_size for part in parts)
    if declared > limits.total_bytes:
        raise LoadFailure(
            f"the document's parts together expand to {format_size(declared)} "
            f"(limit {format_size(limits.total_bytes)}, {EXPANSION_FACTOR} times the file size "
            "limit); refused as a likely zip bomb"
        )

    total = 0
    for part in parts:
        size = _unpacked_size(package, part, limits.part_bytes)
        if size > limits.part_bytes:
            raise LoadFailure(_too_large(part.filename, size, limits.part_bytes, more=True))
        if total + size > limits.total_bytes:
            raise LoadFailure(
                f"{part.filename} unpacks to {format_size(size)}, which takes the document's "
                f"parts over {format_size(limits.total_bytes)} (limit: {EXPANSION_FACTOR} times "
                "the file size limit); refused as a likely zip bomb"
            )
        if size != part.file_size:
            raise LoadFailure(
                f"{part.filename} declares {format_size(part.file_size)} but unpacks to "
                f"{format_size(size)}; the file is damaged (or built to mislead): "
                "export it from Word or WPS again"
            )
        if size > limits.ratio_floor and size > limits.max_ratio * max(part.compress_size, 1):
            ratio = size // max(part.compress_size, 1)
            raise LoadFailure(
                f"{part.filename} expands {ratio:,} times, from {format_size(part.compress_size)} "
                f"to {format_size(size)} (limit {limits.max_ratio} times for parts over "
                f"{format_size(limits.ratio_floor)}); refused as a likely zip bomb"
            )
        total += size


def _unpacked_size(package: zipfile.ZipFile, part: zipfile.ZipInfo, cap: int) -> int:
    """Bytes the part really unpacks to, counted up to `cap + 1` and never held in memory."""
    # zipfile stops reading a part at its declared size; declaring `cap + 1` makes it read the
    # real data up to just past the cap, whatever the header says. Without a CRC to check, a
    # part longer than it claims is counted, not reported as damaged; the parser checks it later.
    probe = copy.copy(part)
    probe.file_size = cap + 1
    del probe.CRC
    size = 0
    try:
        with package.open(probe) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > cap:
                    break
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise LoadFailure(
            f"not a valid .docx (corrupt: {part.filename} cannot be unpacked: {exc})"
        ) from None
    return size


def _too_large(what: str, size: int, limit: int, *, more: bool = False) -> str:
    if more:  # unpacking stopped at the limit: the real size is unknown, and irrelevant
        return (
            f"{what} expands beyond {format_size(limit)} (the limit, {EXPANSION_FACTOR} times "
            "the file size limit); refused as a likely zip bomb"
        )
    return (
        f"{what} expands to {format_size(size)} (limit {format_size(limit)}, {EXPANSION_FACTOR} "
        "times the file size limit); refused as a likely zip bomb"
    )
