"""Which files a user's paths name: folders walked, metadata and noise left out, the rest reasoned."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset({".txt", ".md", ".docx", ".pdf", ".html", ".htm"})
_OLD_WORD_EXTENSIONS = {".doc", ".wps", ".rtf"}


def _supported_list() -> str:
    return ", ".join(sorted(SUPPORTED_EXTENSIONS))


def unsupported_reason(path: Path) -> str:
    ext = path.suffix.lower()
    if not ext:
        return f"no file extension (supported: {_supported_list()})"
    reason = f"unsupported file type '{ext}' (supported: {_supported_list()})"
    if ext in _OLD_WORD_EXTENSIONS:
        reason += "; open it in Word or WPS and save it as .docx"
    return reason


def _is_metadata_file(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".meta.json") or lowered == "manifest.csv"


def _is_hidden(name: str) -> bool:
    # `~$x.docx` is the lock file Word leaves next to an open document.
    return name.startswith((".", "~$"))


def link_problem(path: Path) -> str | None:
    """Why a symbolic link cannot be followed (a loop, a missing target), or None."""
    if not path.is_symlink():
        return None
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return (
                "symlink loop: the link leads back to itself; remove the link or point it at a file"
            )
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return f"broken symlink: its target {os.readlink(path)} does not exist"
        return f"cannot follow the symlink ({exc.strerror or exc})"
    return None


def _walk(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Every file under `root`, following linked folders; links that cannot be followed apart."""
    found: list[Path] = []
    problems: list[tuple[Path, str]] = []

    def visit(folder: Path, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            problems.append((folder, f"cannot read the folder ({exc.strerror or exc})"))
            return
        for name in names:
            if _is_hidden(name):
                continue
            path = folder / name
            problem = link_problem(path)
            if problem:
                problems.append((path, problem))
            elif path.is_dir():
                key = _folder_key(path)
                if key in ancestors:
                    problems.append(
                        (path, "symlink loop: the link leads back to a folder that holds it")
                    )
                else:
                    visit(path, ancestors | {key})
            else:
                found.append(path)

    visit(root, frozenset({_folder_key(root)}))
    return sorted(found, key=lambda p: p.relative_to(root).parts), problems


def _folder_key(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


def find_report_files(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand `paths` (files and directories, recursively) into report files to load.

    Returns `(files, skipped)`: files in a deterministic order (each directory's contents sorted
    by relative path, each file once), and `(path, reason)` for each path that will not be
    loaded. Linked folders are followed; a link that loops or leads nowhere is skipped with
    its reason (a link is never followed twice round a loop). Hidden files, Word lock files
    (`~$…`), `*.meta.json` sidecars and `manifest.csv` are metadata or noise and are left out
    silently.
    """
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def consider(path: Path, *, explicit: bool) -> None:
        if _is_metadata_file(path.name) or (not explicit and _is_hidden(path.name)):
            return
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        if not path.is_file():
            skipped.append((path, "not a regular file"))
        elif path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            skipped.append((path, unsupported_reason(path)))
        else:
            files.append(path)

    def report_problem(path: Path, reason: str) -> None:
        key = path.absolute()
        if key not in seen:
            seen.add(key)
            skipped.append((path, reason))

    for raw in paths:
        path = Path(raw)
        problem = link_problem(path)
        if problem:
            report_problem(path, problem)
        elif path.is_dir():
            found, problems = _walk(path)
            for link, reason in problems:
                report_problem(link, reason)
            for file in found:
                consider(file, explicit=False)
        elif path.exists():
            consider(path, explicit=True)
        else:
            skipped.append((path, "no such file or directory"))
    return files, skipped
