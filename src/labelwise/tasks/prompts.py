"""Finding and rendering the prompt templates (`prompts/<task type>/*.j2`).

This module owns where templates live and how they are rendered (jinja2, StrictUndefined, no
autoescaping: prompts are plain text, and item data is JSON-encoded by the task before it gets
here). What goes into a prompt is the task type's business (`labelwise.tasks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

import labelwise
from labelwise.settings import Settings


def default_prompts_dir() -> Path:
    """The templates shipped with the package: inside an installed wheel they sit next to the
    package (`labelwise/prompts`); in a source checkout they are the repo's top-level `prompts/`."""
    packaged = Path(labelwise.__file__).parent / "prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "prompts"


class PromptLibrary:
    """Templates from one directory, compiled once and kept for the life of the process."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_prompts_dir()
        if not self.directory.is_dir():
            raise FileNotFoundError(f"prompt templates directory not found: {self.directory}")
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates are read once; a prompt must not change under a running worker.
            auto_reload=False,
        )
        self._templates: dict[str, jinja2.Template] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> PromptLibrary:
        return cls(Path(settings.prompts_dir) if settings.prompts_dir else None)

    def render(self, name: str, **context: Any) -> str:
        """Render `name` (e.g. `"classification/system.j2"`); a missing variable is an error."""
        template = self._templates.get(name)
        if template is None:
            template = self._templates[name] = self._env.get_template(name)
        return template.render(**context)
