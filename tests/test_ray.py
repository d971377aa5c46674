"""The Ray executor runs the same per-document function: byte-identical to the local executor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from pipeline.batch import run_batch
from pipeline.config import Config
from pipeline.stamp import STAMP_NAME
from pipeline.state import STATE_DIR

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
