"""The Ray executor runs the same per-document function: byte-identical to the local executor."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from pipeline.batch import run_batch
from pipeline.config import Config
from pipeline.stamp import STAMP_NAME
from pipeline.state import STATE_DIR

from .test_incremental import slow_corpus
from .test_runner import assert_same_output, make_raw


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_equals_local(tmp_path: Path, config: Config, local_ray: None) -> None:
    raw = make_raw(tmp_path, 8)
    local = run_batch(config, raw, tmp_path / "local", workers=1, progress=False)
    on_ray = run_batch(config, raw, tmp_path / "ray", executor="ray", workers=2, progress=False)
    assert_same_output(tmp_path / "local", tmp_path / "ray")
    assert (on_ray.ok, on_ray.failed, on_ray.processed) == (local.ok, local.failed, local.processed)
    assert ray.is_initialized(), "a Ray instance the batch did not start stays up"
    again = run_batch(config, raw, tmp_path / "ray", executor="ray", workers=2, progress=False)
    assert (again.processed, again.reused, again.up_to_date) == (0, 10, True)  # nothing to do: Ray not even used
    assert_same_output(tmp_path / "local", tmp_path / "ray")
    stamps = [(tmp_path / name / STATE_DIR / STAMP_NAME).read_bytes() for name in ("local", "ray")]
    assert stamps[0] == stamps[1]  # the stamp does not depend on the executor either
    (raw / "doc_009.txt").write_text("Condition 9\nOverview\nA new monograph.\n", encoding="utf-8")
    added = run_batch(config, raw, tmp_path / "ray", executor="ray", workers=2, progress=False)
    assert (added.processed, added.reused, added.up_to_date) == (1, 10, False)  # the same cache key as local runs


def _actor_pids() -> list[int]:
    """The processes of this Ray's `PipelineActor`s (Ray titles them `ray::PipelineActor...`)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::PipelineActor"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return sorted(pids)


def test_an_actor_killed_mid_run_costs_nothing_but_time(tmp_path: Path, config: Config, local_ray: None) -> None:
    """SIGKILL to one actor's process while the batch runs: a new actor runs that actor's
    documents in flight again, and the batch ends as the local executor's, to the byte."""
    raw = slow_corpus(tmp_path, 60)
    out = tmp_path / "ray"
    done: list[Any] = []
    batch = threading.Thread(target=lambda: done.append(
        run_batch(config, raw, out, executor="ray", workers=2, progress=False)))
    batch.start()
    deadline = time.monotonic() + 120
    while len(list((out / STATE_DIR / "docs").glob("*.json"))) < 4:  # a few documents saved: mid-run
        assert batch.is_alive() and time.monotonic() < deadline, "the batch ended before an actor could be killed"
        time.sleep(0.02)
    os.kill(_actor_pids()[0], signal.SIGKILL)
    batch.join(timeout=300)
    assert done and (done[0].ok, done[0].failed) == (60, 0)
    run_batch(config, raw, tmp_path / "local", workers=1, progress=False)
    assert_same_output(tmp_path / "local", out)


def test_workers_that_differ_from_this_process_or_from_each_other_stop_the_run() -> None:
    """On a cluster, a node with another package version, Python or lexicon would make its
    documents differ: the run refuses to start, naming what differs."""
    from pipeline.executors import ExecutorError, agreed, identity

    here = identity()
    worker = identity({"entities": {"lexicon_version": "4-a", "package:spacy": "3.8"}})
    assert agreed([worker, dict(worker)], here) == worker["provenance"]
    with pytest.raises(ExecutorError, match=r"worker 1 differs from this process in code"):
        agreed([worker, {**worker, "code": "0" * 16}], here)
    other_lexicon = {**worker, "provenance": {"entities": {"lexicon_version": "4-b", "package:spacy": "3.8"}}}
    with pytest.raises(ExecutorError, match=r"worker 2 differs from worker 0 in provenance\.entities\.lexicon_version"):
        agreed([worker, worker, other_lexicon], here)
