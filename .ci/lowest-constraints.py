"""Print pip constraints pinning each runtime dependency to the lowest version pyproject.toml allows.

CI installs with them and runs `make test-fast`, so that a lower bound is a version that was tested.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
for requirement in pyproject["project"]["dependencies"]:
    found = re.match(r"^([A-Za-z0-9_.\-]+)\s*(?:\[[^]]*\])?\s*.*?>=\s*([^,;\s]+)", requirement)
    if not found:
        sys.exit(f"pyproject.toml: {requirement!r} has no lower bound (>=): give it one")
    print(f"{found[1]}=={found[2]}")
