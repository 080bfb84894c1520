from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from labelwise.tasks.prompts import PromptLibrary, default_prompts_dir
from tests.llm.fakes import llm_settings

REPO_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def test_default_directory_is_the_repo_prompts_in_a_checkout() -> None:
    assert default_prompts_dir() == REPO_PROMPTS
    assert PromptLibrary().directory == REPO_PROMPTS
    assert PromptLibrary.from_settings(llm_settings()).directory == REPO_PROMPTS


def test_prompts_dir_setting_wins(tmp_path: Path) -> None:
    (tmp_path / "classification").mkdir()
    (tmp_path / "classification" / "user.j2").write_text("custom {{ item_json }}")
    library = PromptLibrary.from_settings(llm_settings(prompts_dir=str(tmp_path)))
    assert library.render("classification/user.j2", item_json="{}") == "custom {}"


def test_missing_directory_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PromptLibrary(tmp_path / "nowhere")


def test_missing_variable_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(jinja2.UndefinedError):
        PromptLibrary().render("classification/user.j2")


def test_no_html_escaping(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{{ text }}")
    assert PromptLibrary(tmp_path).render("t.j2", text="<a & 'b'>") == "<a & 'b'>"


def test_templates_are_compiled_once(tmp_path: Path) -> None:
    template = tmp_path / "t.j2"
    template.write_text("one")
    library = PromptLibrary(tmp_path)
    assert library.render("t.j2") == "one"
    template.write_text("two")
    assert library.render("t.j2") == "one"
