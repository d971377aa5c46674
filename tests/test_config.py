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
