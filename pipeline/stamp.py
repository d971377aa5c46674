"""The up-to-date check: a re-run with nothing to do writes nothing and builds nothing.

A complete run ends by writing `OUTPUT/.state/stamp.json`, which records

- the run's key (`stamp_key`): the package's version, schema version, source and data files,
  the whole config (speed-only settings too) and its file name (the manifest names it), the
  stages' provenance (lexicon, rules), the Python version and every installed distribution's
  version (the report's plots are drawn by matplotlib, the Parquet files written by pyarrow);
- the inputs: a digest of their sources in order, and one of each source with the sha256 of
  the bytes its output was made from (`InputsDigest`);
- every output file outside `.state` (`output_files`): its size and CRC-32;
- the run's summary counts, which an up-to-date run reports again.

Nothing in it depends on when or in what order the files were written, so, like the rest of
`.state`, its bytes are the same after an uninterrupted run and after a killed and resumed one.

The next run without `--force` compares first (`check`): the same sources (no input is read
when these differ), the same key, the same output files and sizes, each input read and hashed
again to the same digest, then each output file read again to the same CRC-32 (zlib's, 4 GB/s
here: reading the files costs more than checking them). All equal, the output is what a full
run would write, byte for byte, and the run writes nothing. Anything else, `forget` removes the
stamp before the run writes a byte, and the run goes on as usual: a run killed midway leaves no
stamp, and a partly renamed output fails the file check anyway.

The stamp is a cache like the rest of `.state`: missing or unreadable, the run is a full one.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pipeline import SCHEMA_VERSION, __version__
from pipeline.config import Config
from pipeline.runner import InputFile, Task, read_task
from pipeline.state import PACKAGE_DIR, STATE_DIR

STAMP_NAME = "stamp.json"  # under OUTPUT/.state/
STAMP_FORMAT = 1


def _feed(digest: Any, parts: Iterable[bytes]) -> None:
    """Each part, after its length: no two lists of parts feed the same bytes."""
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)


def _sha(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    _feed(digest, parts)
    return digest.hexdigest()


def environment() -> list[str]:
    """The Python version and every installed distribution, by the name of its metadata folder
    on `sys.path` (`numpy-2.1.0.dist-info`: name and version), sorted. Listing the folders
    costs a few milliseconds; reading each distribution's metadata (`importlib.metadata`), about
    0.3 s."""
    found = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip file, a folder gone
            continue
        found.update(n for n in names if n.endswith((".dist-info", ".egg-info")))
    return [sys.version, *sorted(found)]


def package_files(package_dir: Path = PACKAGE_DIR) -> str:
    """A hash of the package's files: its source (`state.source_fingerprint` hashes only that)
    and its data, such as the output schemas."""
    paths = sorted(p for p in package_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return _sha(part for p in paths for part in (p.relative_to(package_dir).as_posix().encode(), p.read_bytes()))


def stamp_key(config: Config, provenance: dict[str, Any]) -> str:
    """What the whole output depends on besides the inputs (see the module's text)."""
    payload = {
        "format": STAMP_FORMAT,
        "pipeline_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "package": package_files(),
        "config_name": config.path.name,
        "config": {
            "run": config.run.model_dump(mode="json"),
            "stages": {k: v.model_dump(mode="json") for k, v in config.stages.items()},
            "sites": {k: v.model_dump(mode="json") for k, v in sorted(config.sites.items())},
            "products": config.products.model_dump(mode="json") if config.products is not None else None,
        },
        "provenance": provenance,
        "environment": environment(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def sources_digest(items: list[InputFile]) -> str:
    """A digest of the inputs' sources, in batch order (no input is read)."""
    return _sha(item.source.encode("utf-8", "surrogatepass") for item in items)


class InputsDigest:
    """A running digest of (source, sha256 of its bytes), fed in batch order: it holds nothing
    per document."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def add(self, source: str, sha256: str) -> None:
        _feed(self._digest, (source.encode("utf-8", "surrogatepass"), sha256.encode("ascii")))

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


_CHUNK = 1 << 20


def output_sizes(output_dir: Path) -> dict[str, int]:
    """Every output file outside `.state` (hidden names left out: temporary files), by path
    relative to `output_dir`, with its size."""
    found: dict[str, int] = {}
    for root, dirs, files in os.walk(output_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # `.state` among them
        for name in files:
            if not name.startswith("."):
                path = os.path.join(root, name)
                found[os.path.relpath(path, output_dir).replace(os.sep, "/")] = os.stat(path, follow_symlinks=False).st_size
    return dict(sorted(found.items()))


def crc32(path: Path) -> int:
    """The file's CRC-32 (zlib's), read in 1 MB pieces."""
    crc = 0
    with open(path, "rb") as fh:
        while piece := fh.read(_CHUNK):
            crc = zlib.crc32(piece, crc)
    return crc


def output_files(output_dir: Path, sizes: dict[str, int] | None = None) -> dict[str, list[int]]:
    """`output_sizes` (or `sizes`, when just listed), each with the file's CRC-32: `[size, crc32]`."""
    listed = output_sizes(output_dir) if sizes is None else sizes
    return {name: [size, crc32(output_dir / name)] for name, size in listed.items()}


def _path(output_dir: Path) -> Path:
    return output_dir / STATE_DIR / STAMP_NAME


def read(output_dir: Path) -> dict[str, Any] | None:
    """The stamp of `output_dir`, or None (missing, unreadable, of another format)."""
    try:
        stamp = json.loads(_path(output_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) and stamp.get("format") == STAMP_FORMAT else None


def write(output_dir: Path, key: str, items: list[InputFile], inputs: str, summary: dict[str, Any]) -> None:
    """Stamp `output_dir` as made by a complete run (atomically: a temporary name, renamed)."""
    stamp = {
        "format": STAMP_FORMAT, "key": key, "sources": sources_digest(items), "inputs": inputs,
        "outputs": output_files(output_dir), "summary": summary,
    }
    path = _path(output_dir)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(stamp, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def forget(output_dir: Path) -> None:
    """Remove the stamp: this run is about to write."""
    _path(output_dir).unlink(missing_ok=True)


def check(output_dir: Path, key: Callable[[], str], items: list[InputFile]) -> dict[str, Any] | None:
    """The stamped summary when the output of `output_dir` is up to date for `items` under the
    run key `key()`, else None. The cheap comparisons come first (the sources: a file added or
    removed costs no more), the key is made only when they match, then the output files' names
    and sizes are compared; the inputs are read next (one that cannot be read makes it None: a
    full run reports it) and the output files last, for their CRC-32s."""
    stamp = read(output_dir)
    if stamp is None or stamp.get("sources") != sources_digest(items) or stamp.get("key") != key():
        return None
    outputs = stamp.get("outputs")
    try:
        recorded = {name: entry[0] for name, entry in outputs.items()}  # type: ignore[union-attr]
    except (AttributeError, TypeError, IndexError, KeyError):  # not what `write` writes
        return None
    sizes = output_sizes(output_dir)
    if recorded != sizes:
        return None
    digest = InputsDigest()
    for item in items:
        task = read_task(item)
        if not isinstance(task, Task):
            return None
        digest.add(item.source, hashlib.sha256(task.raw).hexdigest())
    if digest.hexdigest() != stamp.get("inputs") or outputs != output_files(output_dir, sizes):
        return None
    summary = stamp.get("summary")
    return summary if isinstance(summary, dict) else None
