"""Shapes of monographs found by black-box reviews (session of 2026-11-26, fourth), end to end."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import Config
from pipeline.runner import Pipeline, Task

PARAS = [
    "Gastroesophageal reflux disease is a chronic condition in which stomach contents flow back into the "
    "esophagus and cause troublesome symptoms or complications in adults.",
    "The most common symptoms are heartburn, a burning feeling behind the breastbone that often occurs after "
    "meals or when lying down, and regurgitation of sour fluid or food into the mouth.",
    "In people with typical symptoms and no warning signs, a trial of a proton pump inhibitor for eight weeks "
    "is often enough to make the diagnosis of the condition.",
]


def wrap(text: str, width: int = 60) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


@pytest.fixture(scope="module")
def pipe(request: pytest.FixtureRequest) -> Pipeline:
    config: Config = request.getfixturevalue("config")
    return Pipeline(config)


def run(pipe: Pipeline, text: str, name: str = "doc.txt") -> dict[str, Any]:
    result = pipe.run(Task(name.rsplit(".", 1)[0], name, text.encode("utf-8")))
    assert result.status == "ok", result.error
    assert result.record is not None
    return result.record


def test_later_copies_rewrapped_by_the_scraper_are_joined_and_removed(pipe: Pipeline) -> None:
    headed = "\n\n".join(f"{h}\n\n{p}" for h, p in zip(["Overview", "Symptoms", "Diagnosis"], PARAS, strict=True))
    copy_wrapped = "\n\n".join(wrap(p) if k != 1 else p for k, p in enumerate(PARAS))
    copy_long = "\n\n".join(PARAS)
    record = run(pipe, f"GERD\n\n{headed}\n\n{copy_wrapped}\n\n{copy_long}\n")
    paragraphs = [p for s in record["sections"] for p in s["paragraphs"]]
    assert sorted(paragraphs) == sorted(PARAS)  # each once, the wrapped ones joined
    assert [s["heading"] for s in record["sections"]] == ["GERD", "Overview", "Symptoms", "Diagnosis"]


def test_short_unpunctuated_lines_of_a_group_stay_apart(pipe: Pipeline) -> None:
    record = run(pipe, "Asthma\n\nCommon triggers include:\npollen\nhouse dust mites\ncold air\n\n" + PARAS[0] + "\n")
    paragraphs = [p for s in record["sections"] for p in s["paragraphs"]]
    assert "pollen" in paragraphs and "cold air" in paragraphs
