"""Print the method section of the newest report of a recipe: `python scripts/show_method_report.py NAME`.

`make example-pro` runs it after the demo so the inferred per-prompt weights and E9 tables show in the
terminal (the same section is in the run's report.md / report.html). Reads `<data dir>/runs/*/report.json`.
"""

from __future__ import annotations

import json
import sys

from store.settings import data_dir
from workers.report import _method_report


def main(name: str) -> int:
    reports = []
    for path in (data_dir() / "runs").glob("*/report.json"):
        report = json.loads(path.read_text())
        if report.get("recipe_name") == name and report.get("method_report"):
            reports.append((path.stat().st_mtime, path, report))
    if not reports:
        print(f"no report with a method section for recipe {name!r} under {data_dir() / 'runs'}")
        return 1
    _, path, report = max(reports, key=lambda item: item[0])
    print(f"{path}:")
    print("\n".join(_method_report(report["method_report"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "example-pro"))
