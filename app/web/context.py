"""What every tab's handlers share: the settings, the answering service, its store and a
folder for downloads; and the static files (CSS, JS) the app serves."""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from app.answers.service import AnswerService
from app.settings import Settings
from app.web.outage import store_outage
from vectorstore import PassageStore

STATIC = Path(__file__).parent / "static"


def static_text(name: str) -> str:
    """A file from app/web/static (CSS, JS), read when the app is built."""
    return (STATIC / name).read_text(encoding="utf-8")


@dataclass
class WebContext:
    settings: Settings
    service: AnswerService
    exports: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fazhi-export-")))

    @property
    def store(self) -> PassageStore:
        return self.service.store

    def outage(self, exc: BaseException) -> str | None:
        """What to tell the user when `exc` means the Chroma server is down, else None."""
        return store_outage(self.store, self.settings.chroma_url, exc)

    def export_stem(self, name: str) -> Path:
        """A fresh path (add a suffix) for a download; exports older than a day go first."""
        self._prune_exports()
        return self.exports / f"{name}-{uuid.uuid4().hex[:8]}"

    def _prune_exports(self, max_age: float = 24 * 3600) -> None:
        """Exports are downloaded right away; drop those older than a day."""
        cutoff = time.time() - max_age
        for path in self.exports.iterdir():
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
