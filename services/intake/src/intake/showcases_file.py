"""The index host's own showcases.yml, rewritten (atomically) after every change."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from showcase_common.index.models import Location, Showcase
from showcase_common.index.showcases_yaml import render
from sqlmodel import Session, select


class ShowcasesFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, session: Session) -> bool:
        """Regenerate the file from the index; False when its bytes would not change."""
        text = render(session.exec(select(Location)), session.exec(select(Showcase)))
        if self.path.exists() and self.path.read_text(encoding="utf-8") == text:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".showcases.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True
