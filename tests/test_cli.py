import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main

from .conftest import ROOT, SAMPLE


def test_batch_with_bad_files_goes_on_and_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SAMPLE, raw / "good one.txt")
    (raw / "empty.txt").write_bytes(b"")
    (raw / "doc.pdf").write_bytes(b"%PDF-1.4 binary")
    (raw / "ünïcode name.txt").write_text("Sarcoidosis\nSarcoidosis is a granulomatous disease of the lungs.\n")
    (raw / "link.txt").symlink_to(raw / "good one.txt")
    (raw / "broken.txt").symlink_to(raw / "missing.txt")
    out = tmp_path / "out"
    code = main(["run", "--input", str(raw), "--output", str(out), "--quiet"])
    assert code == 1
    errors = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
    assert {e["doc"] for e in errors} == {"empty", "doc", "broken"}
    for e in errors:
        assert set(e) == {"doc", "stage", "kind", "message"} and "\n" not in e["message"]
    docs = [json.loads(x)["doc_id"] for x in (out / "corpus.jsonl").read_text().splitlines()]
    assert docs == ["good one", "link", "ünïcode name"]
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert summary.startswith("6 documents: 3 ok, 3 failed")


def test_unreadable_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "locked.txt").write_text("x")
    (raw / "fine.txt").write_text("Overview\nA short monograph body that has a sentence.\n")
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:  # root reads any file, so simulate the permission error
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    out = tmp_path / "o"
    assert main(["run", "--input", str(raw), "--output", str(out), "--quiet"]) == 1
    [error] = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
    assert (error["doc"], error["stage"], error["kind"]) == ("locked", "read", "unreadable")
    assert "Permission denied" in error["message"]


def test_missing_input_and_bad_config(tmp_path: Path) -> None:
    assert main(["run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]) == 2
    bad = tmp_path / "c.yaml"
    bad.write_text("stages: [nope]\n")
    assert main(["run", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "--config", str(bad)]) == 2


def test_module_entry_point_runs(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("Overview\nA short monograph body that has a sentence.\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--input", str(raw), "--output", str(tmp_path / "o"), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 documents: 1 ok, 0 failed" in proc.stderr
