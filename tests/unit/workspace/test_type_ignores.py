"""Every `# type: ignore` in the project's code names its error code and says why (mypy itself
refuses one without a code: `enable_error_code = ignore-without-code`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<rest>.*)$")
EXPLAINED = re.compile(r"^\[[a-z-]+(,\s*[a-z-]+)*\]\s+#\s*\S")


def test_each_type_ignore_carries_a_code_and_a_reason() -> None:
    unexplained = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for group in ("libs", "services", "tools")
        for path in sorted((ROOT / group).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if (found := IGNORE.search(line)) and not EXPLAINED.match(found["rest"])
    ]
    assert not unexplained, "\n".join(unexplained)
