"""pipeline.memory: the writing process keeps the workers' large result buffers mapped."""

from __future__ import annotations

import platform

from pipeline.executors import InlineExecutor, PoolExecutor, RayExecutor
from pipeline.memory import keep_large_blocks_mapped


def test_large_blocks_are_kept_mapped_where_glibc_can() -> None:
    assert keep_large_blocks_mapped() is (platform.libc_ver()[0] == "glibc")


def test_only_a_process_that_receives_results_maps_them() -> None:
    assert InlineExecutor.in_process and not PoolExecutor.in_process and not RayExecutor.in_process
