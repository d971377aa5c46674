"""One batch run: inputs -> results (runner) -> files (writers) -> a summary for the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipeline import SCHEMA_VERSION, __version__
from pipeline.config import Config
from pipeline.runner import DocResult, Pipeline, discover, iter_results
from pipeline.writers import CorpusWriter


@dataclass
class Summary:
    ok: int = 0
    failed: int = 0
    sections: int = 0
    mentions: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    output: Path | None = None

    def add(self, result: DocResult) -> None:
        if result.status == "ok":
            self.ok += 1
        else:
            self.failed += 1
        self.sections += int(result.stats.get("segment", {}).get("sections", 0))
        self.mentions += int(result.stats.get("entities", {}).get("mentions", 0))
        for stage, counts in result.stats.items():
            if "lines_removed" in counts:
                self.removed[stage] = self.removed.get(stage, 0) + int(counts["lines_removed"])
        for stage, secs in result.seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + secs

    def line(self) -> str:
        removed = ", ".join(f"{k} {v}" for k, v in self.removed.items()) or "none"
        text = (
            f"{self.ok + self.failed} documents: {self.ok} ok, {self.failed} failed | "
            f"{self.sections} sections | {self.mentions} mentions | lines removed: {removed}"
        )
        if self.failed and self.output is not None:
            text += f" | errors: {self.output / 'errors.jsonl'}"
        return text


def manifest(config: Config, pipeline_provenance: dict[str, Any], docs: dict[str, Any], summary: Summary) -> dict[str, Any]:
    return {
        "pipeline_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "config": config.path.name,
        "config_hash": config.digest,
        "stages": list(config.run.stages),
        "provenance": pipeline_provenance,
        "totals": {
            "documents": summary.ok + summary.failed, "ok": summary.ok, "failed": summary.failed,
            "sections": summary.sections, "mentions": summary.mentions, "lines_removed": summary.removed,
        },
        "documents": docs,
    }


def run_batch(config: Config, input_dir: Path, output_dir: Path, workers: int = 1, progress: bool = True) -> Summary:
    """Process every file under `input_dir` into `output_dir`; never raises for a bad document."""
    items = discover(input_dir)
    pipeline = Pipeline(config)
    summary = Summary(output=output_dir)
    docs: dict[str, Any] = {}
    with CorpusWriter(output_dir) as writer:
        bar = tqdm(total=len(items), unit="doc", disable=not progress or len(items) < 2, leave=False)
        for result in iter_results(config, items, workers, pipeline):
            writer.write(result)
            summary.add(result)
            entry: dict[str, Any] = {"source": result.source, "status": result.status}
            if result.record is not None:
                entry["sha256"] = result.record["sha256"]
                entry["stats"] = result.stats
            if result.error is not None:
                entry["error"] = result.error
            docs[result.doc_id] = entry
            bar.update(1)
        bar.close()
        writer.commit(manifest(config, pipeline.provenance, docs, summary))
    return summary
