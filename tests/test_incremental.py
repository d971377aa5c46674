"""Incremental and resumable runs: only new or changed documents are processed, removed ones are
dropped, a config change redoes everything, and a killed run resumes to the same bytes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline import stamp
from pipeline.batch import discover, run_batch
from pipeline.config import Config, load_config
from pipeline.records import removed_lines
from pipeline.runner import DocResult, Pipeline, Task
from pipeline.state import STATE_DIR, DocKey, StateLocked, StateStore, output_lock, run_key, run_parts, state_name

from .conftest import DEFAULT_CONFIG, ROOT, SAMPLE
from .test_runner import assert_same_output, make_raw, outputs, synthetic


def state_files(out: Path) -> list[Path]:
    return sorted((out / STATE_DIR / "docs").glob("*.json"))


def corpus_ids(out: Path) -> list[str]:
    return [json.loads(line)["doc_id"] for line in (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]


def test_rerun_reuses_adds_one_drops_removed_and_matches_a_fresh_run(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 5)
    out = tmp_path / "out"
    first = run_batch(config, raw, out, progress=False)
    assert (first.processed, first.reused) == (7, 0)
    assert len(state_files(out)) == 7

    same = run_batch(config, raw, out, progress=False)
    assert (same.processed, same.reused) == (0, 7)
    assert same.line().startswith("7 documents: 6 ok, 1 failed") and "0 processed, 7 reused" in same.line()

    (raw / "doc_002b.txt").write_text(synthetic(99), encoding="utf-8")
    added = run_batch(config, raw, out, progress=False)
    assert (added.processed, added.reused) == (1, 7)
    assert corpus_ids(out).index("doc_002b") == 4  # input order (the sample sorts first), not finishing order
    run_batch(config, raw, tmp_path / "fresh_added", progress=False)
    assert_same_output(out, tmp_path / "fresh_added")

    (raw / "doc_001.txt").unlink()
    (raw / "doc_003.txt").write_text(synthetic(3) + "Prognosis\nGood with treatment.\n", encoding="utf-8")
    changed = run_batch(config, raw, out, progress=False)
    assert (changed.processed, changed.reused) == (1, 6)
    assert "doc_001" not in corpus_ids(out)
    assert "doc_001" not in json.loads((out / "manifest.json").read_text())["documents"]
    assert len(state_files(out)) == 7  # the removed document's state is pruned
    run_batch(config, raw, tmp_path / "fresh_changed", progress=False)
    assert_same_output(out, tmp_path / "fresh_changed")

    forced = run_batch(config, raw, out, force=True, progress=False)
    assert (forced.processed, forced.reused) == (7, 0)
    assert_same_output(out, tmp_path / "fresh_changed")


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The doc ids whose stored result is loaded with its record (to make its output again)."""
    loaded: list[str] = []
    real = StateStore.load

    def load(self: StateStore, key: DocKey) -> DocResult | None:
        loaded.append(key.doc_id)
        return real(self, key)

    monkeypatch.setattr(StateStore, "load", load)
    return loaded


def test_reused_documents_are_written_from_their_kept_output(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = make_raw(tmp_path, 4)  # 4 synthetic documents, the sample, a refused file
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    docs = out / STATE_DIR / "docs"
    kept = {name: docs / Path(state_name(name)).with_suffix(".out").name
            for name in ("doc_000.txt", "doc_001.txt", "doc_002.txt", "doc_003.txt", SAMPLE.name)}
    assert sorted(docs.glob("*.out")) == sorted(kept.values())  # the refused file has none
    before = tree(out)

    loaded = _count_loads(monkeypatch)
    stamp.forget(out)  # else the output is up to date and nothing is read (tests/test_stamp.py)
    again = run_batch(config, raw, out, progress=False)
    assert (again.processed, again.reused) == (0, 6)
    assert loaded == ["scan"]  # only the refused file, which has no output to keep
    assert tree(out) == before

    # A broken cache, another document's, a document page changed since: those documents are
    # made again from their state, to the same bytes.
    kept["doc_000.txt"].write_bytes(kept["doc_000.txt"].read_bytes()[:-100])
    kept["doc_001.txt"].write_bytes(kept["doc_002.txt"].read_bytes())
    page = out / "report" / "doc_003.html"
    page.write_text(page.read_text(encoding="utf-8") + " ", encoding="utf-8")
    broken = {name: kept[name].read_bytes() for name in ("doc_000.txt", "doc_001.txt")}
    loaded.clear()
    stamp.forget(out)
    again = run_batch(config, raw, out, progress=False)
    assert (again.processed, again.reused) == (0, 6)
    assert sorted(loaded) == ["doc_000", "doc_001", "doc_003", "scan"]
    assert tree(out) == {**before, **{str(kept[n].relative_to(out)): b for n, b in broken.items()}}


def test_a_run_killed_between_a_documents_two_files_resumes_to_the_same_bytes(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept output is written before the state: killed in between, the document has no
    state, is made again, and the folder ends as an uninterrupted run's."""
    import pipeline.state as state

    class Killed(BaseException):
        pass

    raw = make_raw(tmp_path, 3, sample=False, bad=False)
    out = tmp_path / "out"
    real = state._write_atomic

    def killed_at_the_second_state(path: Path, data: bytes) -> None:
        if path.suffix == ".json" and len(state_files(out)) == 1:
            raise Killed
        real(path, data)

    monkeypatch.setattr(state, "_write_atomic", killed_at_the_second_state)
    with pytest.raises(Killed):
        run_batch(config, raw, out, progress=False)
    monkeypatch.setattr(state, "_write_atomic", real)
    assert (len(state_files(out)), len(list((out / STATE_DIR / "docs").glob("*.out")))) == (1, 2)
    resumed = run_batch(config, raw, out, progress=False)
    assert (resumed.reused, resumed.processed) == (1, 2)
    run_batch(config, raw, tmp_path / "uninterrupted", progress=False)
    assert tree(out) == tree(tmp_path / "uninterrupted")


def test_without_the_output_cache_the_output_is_the_same(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 2)
    run_batch(config, raw, tmp_path / "with", progress=False)
    off = replace(config, run=config.run.model_copy(update={"output_cache": False}))
    assert off.digest == config.digest  # it changes no output: nothing is redone for it
    run_batch(off, raw, tmp_path / "without", progress=False)
    assert not list((tmp_path / "without" / STATE_DIR / "docs").glob("*.out"))
    assert_same_output(tmp_path / "with", tmp_path / "without")
    # switched off after a run, the kept output is neither used nor left stale
    again = run_batch(off, raw, tmp_path / "with", progress=False)
    assert again.reused == 4
    assert not list((tmp_path / "with" / STATE_DIR / "docs").glob("*.out"))
    assert_same_output(tmp_path / "with", tmp_path / "without")


def test_a_document_sharing_learned_boilerplate_changes_no_other(tmp_path: Path, config: Config) -> None:
    """Batch-learned lines enter a document's key, their document counts do not: adding or
    removing a document that holds the same learned line redoes only that document."""
    footer = "Subscribe to our newsletter for weekly updates\n"  # recurs, and a cue confirms it
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(6):
        (raw / f"doc_{i:03d}.txt").write_text(synthetic(i) + footer, encoding="utf-8")
    out = tmp_path / "out"
    first = run_batch(config, raw, out, progress=False)
    assert (first.processed, first.learned_lines) == (6, 1)
    removed = (out / "removed.jsonl").read_text(encoding="utf-8")
    assert removed.count("or more documents of the batch") == 6

    (raw / "doc_006.txt").write_text(synthetic(6) + footer, encoding="utf-8")
    added = run_batch(config, raw, out, progress=False)
    assert (added.processed, added.reused) == (1, 6)
    assert "subscribe to our newsletter for weekly updates,7," in (out / "learned_boilerplate.csv").read_text()
    run_batch(config, raw, tmp_path / "fresh_added", progress=False)
    assert_same_output(out, tmp_path / "fresh_added")

    (raw / "doc_000.txt").unlink()
    dropped = run_batch(config, raw, out, progress=False)
    assert (dropped.processed, dropped.reused) == (0, 6)
    run_batch(config, raw, tmp_path / "fresh_dropped", progress=False)
    assert_same_output(out, tmp_path / "fresh_dropped")


def test_changed_config_reprocesses_every_document(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 3, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    # The same configs folder (linked) with one value changed; the stages then read their files
    # (terminology, lexicon source) from the real folder, so nothing but that value differs.
    configs = tmp_path / "configs"
    configs.mkdir()
    for entry in DEFAULT_CONFIG.parent.iterdir():
        if entry.name != DEFAULT_CONFIG.name:
            (configs / entry.name).symlink_to(entry)
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert "max_heading_words: 12" in text
    (configs / DEFAULT_CONFIG.name).write_text(text.replace("max_heading_words: 12", "max_heading_words: 11"), encoding="utf-8")
    changed = replace(load_config(configs / DEFAULT_CONFIG.name), path=config.path, config_dir=config.config_dir)
    assert changed.digest != config.digest
    summary = run_batch(changed, raw, out, progress=False)
    assert (summary.processed, summary.reused) == (3, 0)
    again = run_batch(config, raw, out, progress=False)
    assert (again.processed, again.reused) == (3, 0)


def test_run_key_covers_versions_code_config_and_provenance() -> None:
    base = run_parts("0.1.0", "1.0", "code", "cfg", {"entities": {"lexicon_version": "1"}})
    variants = [
        run_parts("0.2.0", "1.0", "code", "cfg", {"entities": {"lexicon_version": "1"}}),
        run_parts("0.1.0", "1.1", "code", "cfg", {"entities": {"lexicon_version": "1"}}),
        run_parts("0.1.0", "1.0", "edit", "cfg", {"entities": {"lexicon_version": "1"}}),
        run_parts("0.1.0", "1.0", "code", "cfg2", {"entities": {"lexicon_version": "1"}}),
        run_parts("0.1.0", "1.0", "code", "cfg", {"entities": {"lexicon_version": "2"}}),
    ]
    keys = {run_key(base), *(run_key(v) for v in variants)}
    assert len(keys) == 6


def test_corrupt_or_foreign_state_is_recomputed(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 3, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    before = outputs(out)
    (out / STATE_DIR / "docs" / state_name("doc_000.txt")).write_text('{"key": {"source": "doc_000.txt"}}\n', encoding="utf-8")
    (out / STATE_DIR / "docs" / state_name("doc_001.txt")).write_text("{trunc", encoding="utf-8")
    stamp.forget(out)  # else the output is up to date and no state is read (tests/test_stamp.py)
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.processed, summary.reused) == (2, 1)
    assert outputs(out) == before


def test_state_save_is_atomic_and_load_checks_the_key(tmp_path: Path, config: Config) -> None:
    from pipeline.runner import Pipeline, Task

    store = StateStore(tmp_path, {"config_hash": config.digest})
    result = Pipeline(config).run(Task("a", "a.txt", (synthetic(1) + "Share this page\n" + synthetic(1)).encode()))
    key = store.key("a.txt", "a", "0" * 64)
    store.save(key, result)
    assert store.matches(key) and store.load(key) == result
    other = store.key("a.txt", "a", "1" * 64)
    assert not store.matches(other) and store.load(other) is None
    assert [p.name for p in (tmp_path / STATE_DIR / "docs").iterdir()] == [state_name("a.txt")]
    # Its removed lines are kept as removed.jsonl has them, after the record, and read back so
    assert result.removed and result.removed_json is None  # not packed by a worker: encoded on saving
    text = store.path("a.txt").read_text(encoding="utf-8")
    assert text.endswith("\n" + removed_lines(result.removed)) and text.count("\n") == 3 + len(result.removed)
    assert store.load(key).removed_json == removed_lines(result.removed)
    store.path("a.txt").write_text(text[:-1], encoding="utf-8")  # cut short in its removed lines
    assert store.load(key) is None


# Enough documents that a run is still busy when the signal arrives (about 30 ms each on one core).
N_SLOW = 100


def slow_corpus(root: Path, n: int = N_SLOW) -> Path:
    """`n` copies of the sample monograph, each with its own token."""
    raw = root / "raw"
    raw.mkdir()
    text = SAMPLE.read_text(encoding="utf-8")
    for i in range(n):
        (raw / f"m{i:02d}.txt").write_text(text.replace("POEMS", f"QX{i:02d}S"), encoding="utf-8")
    return raw


def _start(raw: Path, out: Path, workers: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "pipeline", "run", "--input", str(raw), "--output", str(out),
           "--config", str(DEFAULT_CONFIG), "--workers", str(workers), "--quiet"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_states(proc: subprocess.Popen[str], out: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(state_files(out)) < n:
        assert proc.poll() is None, f"the run ended before it could be interrupted: {proc.stderr.read() if proc.stderr else ''}"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.02)


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_sigkilled_run_resumes_to_the_same_bytes(tmp_path: Path, config: Config) -> None:
    raw = slow_corpus(tmp_path)
    out = tmp_path / "out"
    proc = _start(raw, out, workers=2)
    _wait_for_states(proc, out, 4)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    saved = len(state_files(out))
    assert 4 <= saved < N_SLOW
    assert not (out / "corpus.jsonl").exists()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)  # the pool's workers die with their parent
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)

    resumed = run_batch(config, raw, out, progress=False)
    assert (resumed.reused, resumed.processed) == (saved, N_SLOW - saved)  # every complete state file is valid
    assert corpus_ids(out) == [f"m{i:02d}" for i in range(N_SLOW)]
    run_batch(config, raw, tmp_path / "uninterrupted", progress=False)
    assert_same_output(out, tmp_path / "uninterrupted")
    # The whole folder: the products, the report's pages and the state too, and no leftovers.
    assert tree(out) == tree(tmp_path / "uninterrupted")


def test_a_worker_killed_from_outside_mid_run_costs_nothing_but_time(tmp_path: Path) -> None:
    """SIGKILL to one pool worker in a running batch, as the kernel's OOM killer sends it: the
    pool starts again, the documents in flight run again, and the batch ends as an
    uninterrupted one, every document ok, the same folder to the byte."""
    raw = slow_corpus(tmp_path)
    out = tmp_path / "out"
    proc = _start(raw, out, workers=2)
    _wait_for_states(proc, out, 4)
    os.kill(_children(proc.pid)[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"{N_SLOW} ok, 0 failed" in stdout + stderr  # the summary line
    # The same command uninterrupted, in a process of its own: compared with a `run_batch` in
    # this test process, the folders once differed in CI in the up-to-date stamp's key alone.
    clean = _start(raw, tmp_path / "uninterrupted", workers=2)
    clean.communicate(timeout=300)
    assert clean.returncode == 0
    assert tree(out) == tree(tmp_path / "uninterrupted")


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`, hidden ones included (the up-to-date stamp too), by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigint_stops_with_exit_130_and_the_previous_corpus(tmp_path: Path) -> None:
    raw = slow_corpus(tmp_path)
    out = tmp_path / "out"
    keep = raw.parent / "first"
    keep.mkdir()
    for p in sorted(raw.iterdir())[:2]:
        shutil.copy(p, keep / p.name)
    first = _start(keep, out, workers=1)
    first.communicate(timeout=60)
    assert first.returncode == 0
    before = outputs(out)
    proc = _start(raw, out, workers=1)
    _wait_for_states(proc, out, 5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("interrupted: ")
    assert "Traceback" not in err
    assert outputs(out) == before
    assert not list(out.glob(".*tmp*"))
    assert 5 <= len(state_files(out)) < N_SLOW


def test_a_second_run_on_the_same_output_is_refused(tmp_path: Path, config: Config) -> None:
    raw = make_raw(tmp_path, 1, sample=False, bad=False)
    with output_lock(tmp_path / "out"), pytest.raises(StateLocked):
        run_batch(config, raw, tmp_path / "out", progress=False)
    assert run_batch(config, raw, tmp_path / "out", progress=False).ok == 1


def test_line_counter_counts_documents_and_keeps_only_recurring_texts() -> None:
    """Counts are per document, by digest; a line's text is kept only once it reaches the
    counter's threshold, so one-document lines cost no text; asking below it is an error."""
    from pipeline.batch_lines import LineCounter, line_digest

    counter = LineCounter(2)
    for keys in ({"share this page", "gout is common"}, {"share this page", "print"}, {"share this page", "print"}):
        counter.add(keys)
    assert counter.recurring() == {"print": 2, "share this page": 3}
    assert counter.recurring(3) == {"share this page": 3}
    assert sorted(counter.texts.values()) == ["print", "share this page"]  # not "gout is common"
    with pytest.raises(ValueError, match="2 documents or more"):
        counter.recurring(1)
    # A re-run counts kept documents by digest, without their texts: a line that recurs in
    # them is read back from the document that made it recur, unless a document counted with
    # its texts holds it too.
    docs = [{"share this page", "gout is common", "print"}, {"share this page", "print"}, {"share this page"}]
    by_keys, by_digest = LineCounter(2), LineCounter(2)
    for keys in docs:
        by_keys.add(keys)
    by_digest.add_digests([line_digest(k) for k in docs[0]], 0)
    by_digest.add_digests([line_digest(k) for k in docs[1]], 1)
    by_digest.add(docs[2])  # holds "share this page": its text comes with it
    assert by_digest.missing == {line_digest("print"): 1}
    asked: list[int] = []
    by_digest.fill(lambda doc: asked.append(doc) or docs[doc])
    assert asked == [1] and not by_digest.missing
    assert by_digest.recurring() == by_keys.recurring() == {"print": 2, "share this page": 3}
    single = LineCounter(1)
    single.add({"a line"})
    assert single.recurring() == {"a line": 1}


def _footer_batch(tmp_path: Path, n: int) -> Path:
    footer = "Subscribe to our newsletter for weekly updates\n"  # recurs, and a cue confirms it
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    for i in range(n):
        (raw / f"doc_{i:03d}.txt").write_text(synthetic(i) + footer, encoding="utf-8")
    return raw


def test_a_rerun_reads_each_kept_input_once_and_cuts_only_new_ones_into_lines(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pre-pass keeps each input's line digests (`.state/lines`): a re-run counts an
    unchanged input from them and plans it without reading it again; the output is a fresh
    run's, and so is the digest file."""
    import pipeline.batch
    import pipeline.batch_lines
    import pipeline.prepass

    raw = _footer_batch(tmp_path, 6)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    (raw / "doc_006.txt").write_text(synthetic(6) + "Subscribe to our newsletter for weekly updates\n", encoding="utf-8")

    cut: list[bytes] = []
    planned: list[str] = []
    real_keys, real_read = pipeline.prepass.doc_line_keys, pipeline.batch.read_task
    def keys(raw: bytes, decode: Any = None) -> set[str]:
        cut.append(raw)
        return real_keys(raw, decode)

    monkeypatch.setattr(pipeline.batch_lines, "doc_line_keys", keys)  # the pre-pass's cutting (`keyed_digests`)
    monkeypatch.setattr(pipeline.prepass, "doc_line_keys", keys)  # reading a recurring line's text back (`fill`)
    monkeypatch.setattr(pipeline.batch, "read_task", lambda item: planned.append(item.source) or real_read(item))
    added = run_batch(config, raw, out, progress=False)
    assert (added.processed, added.reused, added.learned_lines) == (1, 6, 1)
    assert cut == [(raw / "doc_006.txt").read_bytes()]  # in the pre-pass; its plan uses the digests
    assert planned == ["doc_006.txt"]

    # Without the new input, the line reaches the threshold in a document counted by digest:
    # its text is read back from that one document.
    (raw / "doc_006.txt").unlink()
    cut.clear()
    dropped = run_batch(config, raw, out, progress=False)
    assert (dropped.processed, dropped.reused, dropped.learned_lines) == (0, 6, 1)
    assert cut == [(raw / "doc_004.txt").read_bytes()]
    monkeypatch.undo()
    run_batch(config, raw, tmp_path / "fresh", progress=False)
    assert_same_output(out, tmp_path / "fresh")
    assert (out / STATE_DIR / "lines").read_bytes() == (tmp_path / "fresh" / STATE_DIR / "lines").read_bytes()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "missing"])
def test_a_damaged_digest_file_is_computed_again(tmp_path: Path, config: Config, damage: str) -> None:
    raw = _footer_batch(tmp_path, 6)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    lines = out / STATE_DIR / "lines"
    before, kept = outputs(out), lines.read_bytes()
    if damage == "garbage":
        lines.write_bytes(b"\x00" * 40)
    elif damage == "truncated":
        lines.write_bytes(kept[:-5])
    elif damage == "foreign":  # another code or config: its key differs
        lines.write_bytes(kept.replace(json.loads(kept[kept.index(b'{"format"'):-9])["key"].encode(), b"0" * 16))
    else:
        lines.unlink()
    stamp.forget(out)  # else the output is up to date and the pre-pass does not run
    again = run_batch(config, raw, out, progress=False)
    assert (again.processed, again.reused, again.learned_lines) == (0, 6, 1)
    assert outputs(out) == before
    assert lines.read_bytes() == kept


def test_an_input_changed_after_the_prepass_is_keyed_by_its_new_bytes(tmp_path: Path) -> None:
    """A document read again to be processed keys on the bytes it is processed from: the
    pre-pass's digests when they are the bytes it read, else lines cut from them."""
    from pipeline.batch_lines import content_hash, doc_line_keys, lines_in
    from pipeline.prepass import run_prepass
    from pipeline.runner import discover

    raw = _footer_batch(tmp_path, 3)
    items = discover(raw)
    prepass = run_prepass(items, 2, None, tmp_path / "state", "k", lambda recurring: recurring)
    try:
        assert "subscribe to our newsletter for weekly updates" in prepass.learned
        same = (raw / "doc_001.txt").read_bytes()
        held = lines_in(doc_line_keys(same), prepass.learned)
        assert prepass.of_bytes(1, same, None) == (content_hash(hashlib.sha256(same).hexdigest(), held), held)
        assert prepass.identity(1) == content_hash(hashlib.sha256(same).hexdigest(), held)
        changed = b"A new text.\nSubscribe to our newsletter for weekly updates\n"
        footer = ("subscribe to our newsletter for weekly updates",)
        assert prepass.of_bytes(1, changed, None) == (content_hash(hashlib.sha256(changed).hexdigest(), footer), footer)
        assert prepass.of_bytes(1, b"Nothing learned.\n", None) == (hashlib.sha256(b"Nothing learned.\n").hexdigest(), ())
        (tmp_path / "state" / "lines").write_bytes(b"")  # cut during the run: computed from the bytes
        assert prepass.identity(1) is None
        assert prepass.of_bytes(1, same, None) == (content_hash(hashlib.sha256(same).hexdigest(), held), held)
    finally:
        prepass.close()
    small = run_prepass(items[:1], 2, None, tmp_path / "state", "k", lambda recurring: recurring)
    assert (small.learned, small.identity(0)) == ({}, None)
    assert not (tmp_path / "state" / "lines").exists()  # too few inputs: no digests of another batch left


def test_a_state_gone_between_planning_and_loading_is_processed_after_all(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned for reuse (its state matched), a document whose stored result cannot be loaded
    when its turn comes is read and processed then, to the same bytes, and the run is stamped."""
    raw = make_raw(tmp_path, 3, sample=False, bad=False)
    out = tmp_path / "out"
    run_batch(config, raw, out, progress=False)
    stamp.forget(out)  # else the output is up to date and nothing is planned
    real_output, real_load = StateStore.load_output, StateStore.load

    def gone(real: Any) -> Any:
        return lambda self, key, *args: None if key.doc_id == "doc_001" else real(self, key, *args)

    monkeypatch.setattr(StateStore, "load_output", gone(real_output))
    monkeypatch.setattr(StateStore, "load", gone(real_load))
    summary = run_batch(config, raw, out, progress=False)
    assert (summary.processed, summary.reused) == (1, 2)
    run_batch(config, raw, tmp_path / "fresh", progress=False)
    assert tree(out) == tree(tmp_path / "fresh")


def test_a_document_that_kills_its_worker_fails_alone_and_the_batch_goes_on(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker process that dies (the kernel's OOM killer, a crash in a C library) breaks the
    pool and every document in flight; the pool restarts, those documents run again one at a
    time, and only the one that kills its worker alone fails, retried by the next run."""
    raw = make_raw(tmp_path, 7, sample=False, bad=False)
    (raw / "doc_003k.txt").write_text(synthetic(99), encoding="utf-8")  # in the middle of the input
    real_run = Pipeline.run

    def run(self: Pipeline, task: Task) -> DocResult:
        if task.doc_id == "doc_003k":
            os._exit(1)  # no exception, no cleanup: the process is gone
        return real_run(self, task)

    monkeypatch.setattr(Pipeline, "run", run)  # the pool's processes fork from this one: theirs too
    out = tmp_path / "out"
    first = run_batch(config, raw, out, workers=2, progress=False)
    assert (first.ok, first.failed) == (7, 1)
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["doc"], e["stage"], e["kind"]) for e in errors] == [("doc_003k", "worker", "worker_died")]
    assert "doc_003k" not in corpus_ids(out) and len(corpus_ids(out)) == 7
    assert not stamp._path(out).exists()  # not up to date: the next run tries the document again

    monkeypatch.setattr(Pipeline, "run", real_run)
    second = run_batch(config, raw, out, workers=2, progress=False)
    assert (second.processed, second.reused, second.failed) == (1, 7, 0)
    run_batch(config, raw, tmp_path / "clean", workers=1, progress=False)
    assert_same_output(out, tmp_path / "clean")


def test_the_prepass_cut_in_other_processes_finds_what_it_finds_here(tmp_path: Path) -> None:
    """`run_prepass` with its inputs cut into lines elsewhere (`imap`: a process pool here), in
    groups of any size: the same recurring and learned lines, the same digest file."""
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.prepass import run_prepass

    raw = _footer_batch(tmp_path, 9)
    (raw / "doc_004.txt").write_bytes(b"")  # an empty input among them
    items = discover(raw)
    here = run_prepass(items, 3, None, tmp_path / "here", "k", lambda recurring: dict(list(recurring.items())[:1]))
    assert here.recurring and here.learned
    largest = max(item.path.stat().st_size for item in items)
    with ProcessPoolExecutor(2) as pool:
        for group, group_bytes in ((1, 1 << 20), (4, 1 << 20), (16, 1 << 20), (16, 2 * largest), (16, 1)):
            there = run_prepass(items, 3, None, tmp_path / f"g{group}-{group_bytes}", "k",
                                lambda recurring: dict(list(recurring.items())[:1]), pool.map, group, group_bytes)
            there.close()
            assert (there.recurring, there.learned, there.shas) == (here.recurring, here.learned, here.shas)
            assert (there.offsets, there.counts) == (here.offsets, here.counts)
            assert (tmp_path / f"g{group}-{group_bytes}" / "lines").read_bytes() == (tmp_path / "here" / "lines").read_bytes()
    here.close()


class _Died(Exception):
    pass


def test_ahead_map_keeps_order_and_its_bound_and_runs_the_rest_here_after_a_death() -> None:
    from concurrent.futures import Future, ThreadPoolExecutor

    from pipeline.executors import ahead_map

    submitted, returned, revived = [], [], []
    peak = 0

    def get(future: Future[int]) -> int:
        value = future.result()
        if value == 25 and not revived:
            raise _Died  # the workers died while item 5 was in flight
        return value

    def square(x: int) -> int:
        return x * x

    with ThreadPoolExecutor(3) as pool:
        def submit(x: int) -> Future[int]:
            nonlocal peak
            submitted.append(x)
            peak = max(peak, len(submitted) - len(returned))
            return pool.submit(square, x)

        for value in ahead_map(square, range(12), 3, submit, get, _Died, lambda: revived.append(True)):
            returned.append(value)
    assert returned == [x * x for x in range(12)]
    assert revived == [True] and peak == 3
    assert submitted == list(range(8))  # 5, 6 and 7 were in flight: they, and 8 to 11, ran here


def _square_or_die(x: int) -> int:
    """x squared; 3 kills the pool process that runs it (not this one)."""
    import multiprocessing

    if x == 3 and multiprocessing.parent_process() is not None:
        os._exit(1)
    return x * x


def test_a_worker_death_in_the_prepass_restarts_the_pool_and_the_rest_runs_here(config: Config) -> None:
    from pipeline.executors import PoolExecutor

    pool = PoolExecutor(config, 2)
    pool.start()
    try:
        first = pool.pool
        assert list(pool.imap(_square_or_die, range(10))) == [x * x for x in range(10)]
        assert pool.pool is not None and pool.pool is not first  # a new pool for the documents
        assert list(pool.imap(_square_or_die, [1, 2])) == [1, 4]
        again = pool.pool
        assert pool.map(_square_or_die, list(range(6))) == [x * x for x in range(6)]  # `map` is `imap`'s list
        assert pool.pool is not again
    finally:
        pool.close()


def test_the_pool_starts_once_every_worker_has_built_its_pipeline(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`start` returns when all the workers are built, not the first one: the pre-pass that
    follows has them all, and a worker that cannot build stops the run before it begins."""
    import pipeline.executors
    from pipeline.executors import PoolExecutor

    class Stub:
        """Builds in no time in the first worker, in a second in the others."""

        def __init__(self, config: Config) -> None:
            try:
                os.close(os.open(tmp_path / "first", os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                time.sleep(1.0)
            (tmp_path / f"built-{os.getpid()}").touch()
            self.provenance = {"stub": "yes"}

    monkeypatch.setattr(pipeline.executors, "Worker", Stub)  # the pool's processes fork from this one
    pool = PoolExecutor(config, 2)
    try:
        assert pool.start() == {"stub": "yes"}
        assert len(list(tmp_path.glob("built-*"))) == 2
    finally:
        pool.close()


def test_the_prepass_groups_are_bounded_in_inputs_and_in_bytes() -> None:
    """What is in flight stays small whatever the inputs' sizes: a group closes at `group`
    inputs or before `group_bytes` bytes to cut (a larger input goes alone); kept inputs
    (nothing to cut) weigh nothing."""
    from pipeline.prepass import _cut, _Read

    sizes = [10, 10, 30, 5, None, 5, 5, 5]  # None: kept from the last run
    reads = [_Read(i, f"d{i}", b"s", b"kept" if n is None else None, None if n is None else b"x" * n)
             for i, n in enumerate(sizes)]
    sent: list[list[int | None]] = []

    def imap(fn: Any, groups: Any) -> Any:
        for group in groups:
            sent.append([None if raw is None else len(raw) for raw in group])
            yield fn(group)

    out = list(_cut(iter(reads), None, imap, 3, 25))
    assert [read.index for read, _keyed in out] == list(range(len(sizes)))
    assert sent == [[10, 10], [30], [5, None, 5], [5, 5]]
