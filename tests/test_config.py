from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_default_config_loads(config) -> None:
    assert config.run.stages[0] == "decode"
    assert "medtigo" in config.sites
    assert len(config.digest) == 16


@pytest.mark.parametrize(
    "text,needle",
    [
        ("stages: [decode]\nbogus: 1\n", "unknown key"),
        ("stages: [decode, nope]\n", "unknown stage"),
        ("stages: [decode]\ndecode:\n  max_bytes: -1\n", "decode.max_bytes"),
        ("stages: [dedup]\ndedup:\n  min_run: 3\n", "dedup.min_run"),
        ("stages: [decode]\nsite: nowhere\n", "site 'nowhere'"),
        ("- a list\n", "mapping"),
    ],
)
def test_bad_configs_are_rejected_with_the_key(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config(_write(tmp_path, text))


def test_digest_changes_with_a_value(tmp_path: Path) -> None:
    a = load_config(_write(tmp_path, "stages: [dedup]\n"))
    b = load_config(_write(tmp_path, "stages: [dedup]\ndedup:\n  min_run_lines: 4\n"))
    assert a.digest != b.digest


def test_writer_memory_setting_is_validated_and_outside_the_digest(tmp_path: Path) -> None:
    """The writing process's mmap threshold changes memory only: the same digest (nothing is
    reprocessed when it changes); a negative value is refused with its key."""
    a = load_config(_write(tmp_path, "stages: [dedup]\n"))
    b = load_config(_write(tmp_path, "stages: [dedup]\nwriter_mmap_threshold: 0\n"))
    assert (a.run.writer_mmap_threshold, b.run.writer_mmap_threshold) == (131_072, 0)
    assert a.digest == b.digest
    with pytest.raises(ConfigError, match="writer_mmap_threshold"):
        load_config(_write(tmp_path, "stages: [dedup]\nwriter_mmap_threshold: -1\n"))


def test_speed_only_stage_settings_are_outside_the_digest(tmp_path: Path) -> None:
    """The entities stage's batching, grouping and cache sizes change speed only (its tests
    check that the mentions stay the same): the same digest; its head-noun rule is output."""
    base = "stages: [decode, entities]\nentities:\n  lexicon_dir: x\n"
    a = load_config(_write(tmp_path, base))
    b = load_config(_write(tmp_path, base + "  join_chars: 0\n  token_cache: 5\n  batch_size: 8\n  docs_per_batch: 1\n"))
    c = load_config(_write(tmp_path, base + "  head_nouns: false\n"))
    assert b.stages["entities"].join_chars == 0  # type: ignore[attr-defined]
    assert a.digest == b.digest != c.digest


def test_cap_heap_sets_the_threshold_where_glibc_has_mallopt() -> None:
    import ctypes
    import platform

    from pipeline.batch import cap_heap

    assert cap_heap(0) is False  # 0: glibc's own default, untouched
    has_mallopt = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc" and hasattr(ctypes.CDLL(None), "mallopt")
    assert cap_heap(131_072) is has_mallopt
