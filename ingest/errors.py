"""Every exception fazhi raises on purpose, in one place.

Messages name the bad value and say what to do; only `app/` turns them into CLI lines or UI errors.
"""

from __future__ import annotations

from pathlib import Path


class FazhiError(Exception):
    """Base class for errors a user can act on."""


class ReportLoadError(FazhiError):
    """A file could not be read as a report (corrupt, empty, too large, undecodable...)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsupportedFormatError(ReportLoadError):
    """The file extension is not one fazhi reads."""


class SidecarError(ReportLoadError):
    """A `<file>.meta.json` sidecar or manifest row is malformed."""


class StoreError(FazhiError):
    """The passage store cannot be opened or written."""


class IncompatibleStoreError(StoreError):
    """The store was built with other embedding or chunking settings than the ones requested."""


class EmbeddingModelError(FazhiError):
    """An embedding model cannot be loaded or built."""


class ReportNotFoundError(FazhiError):
    """No report with that id in the store."""


class PromptTemplateError(FazhiError):
    """A prompt template file is missing, malformed or lacks a variable."""


class LLMError(FazhiError):
    """The configured OpenAI-compatible endpoint failed or timed out."""


class MetadataEditError(FazhiError):
    """A metadata edit was refused: a place not in the gazetteer, an ambiguous county, a bad
    year or date. `suggestions` are near names the user may have meant."""

    def __init__(self, message: str, chinese: str, suggestions: list[str] | None = None) -> None:
        self.chinese = chinese  # the same message for the web app
        self.suggestions = suggestions or []
        super().__init__(message)
