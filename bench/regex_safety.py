"""Benchmark: every regex of the pipeline against adversarial 100 KB strings.

Not a unit test (timing is machine-dependent): run it with `make bench-regex`. Each pattern
is run with `search` (and `match`/`fullmatch`-style anchors come from the pattern itself) on
strings built to trigger catastrophic backtracking; any pattern taking more than the bound
(default 1 s, about 100x what a linear pattern needs) is reported and the script exits 1.
Patterns come from module-level compiled regexes of `pipeline`, from the defaults of stage
settings and from the site configs in `configs/sites/`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pipeline
from pipeline.config import load_config

SIZE = 100_000


def adversarial(size: int = SIZE) -> dict[str, str]:
    """Strings that defeat backtracking engines on common pattern shapes."""
    pieces = {
        "spaces": " ", "tabs_spaces": " \t", "hash_spaces": "# ", "letters": "a", "word_dash": "a-",
        "dots_digits": "1.", "tag_opens": "<a ", "amp_hash": "&#", "colons": "a:", "caps": "A ",
        "nbsp_a": "\u00c2 ", "points": "points ", "redeem": "redeem ", "mixed_punct": "a, b. ",
        "newlines": "a\n", "quotes": "'’-",
    }
    out: dict[str, str] = {}
    for name, piece in pieces.items():
        body = piece * (size // len(piece))
        out[name] = body
        out[name + "+bang"] = body + "!"  # a failing tail forces full backtracking
        out["#" + name] = "#" + body + "\x01"
    return out


def module_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    for info in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
        if info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception as exc:
            print(f"skip {info.name}: {exc}", file=sys.stderr)
            continue
        for attr, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                yield f"{info.name}.{attr}", value


def config_patterns(config_path: Path) -> Iterator[tuple[str, re.Pattern[str]]]:
    config = load_config(config_path)
    for stage, settings in config.stages.items():
        for key, value in settings.model_dump().items():
            if isinstance(value, dict):
                for name, pat in value.items():
                    if isinstance(pat, str) and any(c in pat for c in "\\[]()|"):
                        yield f"{stage}.{key}.{name}", re.compile(pat, re.IGNORECASE)
            elif isinstance(value, str) and key.endswith("pattern"):
                yield f"{stage}.{key}", re.compile(value)
    for name, site in config.sites.items():
        groups = {
            "detect": site.detect, "boilerplate.lines": site.boilerplate.lines,
            "boilerplate.tail_start": site.boilerplate.tail_start,
            "headings.level1_patterns": site.headings.level1_patterns,
            "headings.level2_patterns": site.headings.level2_patterns,
        }
        for group, pats in groups.items():
            for i, pat in enumerate(pats):
                yield f"sites.{name}.{group}[{i}]", re.compile(pat, re.IGNORECASE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--bound", type=float, default=1.0, help="seconds allowed per pattern and input")
    args = parser.parse_args()
    inputs = adversarial()
    patterns = list(module_patterns()) + list(config_patterns(args.config))
    slow: list[str] = []
    worst_overall = 0.0
    for name, pattern in patterns:
        worst, worst_input = 0.0, ""
        for input_name, text in inputs.items():
            start = time.perf_counter()
            pattern.search(text)
            for _ in pattern.finditer(text[:10_000]):
                pass
            elapsed = time.perf_counter() - start
            if elapsed > worst:
                worst, worst_input = elapsed, input_name
        worst_overall = max(worst_overall, worst)
        flag = "SLOW" if worst > args.bound else "ok"
        print(f"{flag:4} {worst * 1000:8.2f} ms  {name}  (worst input: {worst_input})")
        if worst > args.bound:
            slow.append(name)
    print(f"{len(patterns)} patterns x {len(inputs)} adversarial inputs of {SIZE // 1000} KB; "
          f"worst {worst_overall * 1000:.1f} ms; bound {args.bound * 1000:.0f} ms; {len(slow)} slow")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
