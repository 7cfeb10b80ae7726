"""Prompt templates as files, loaded and validated.

A template is a UTF-8 text file with `{name}` placeholders. Rendering with a missing or unknown
variable is an error naming it, so a typo in a template fails loudly instead of leaking braces.
"""

from __future__ import annotations

import string
from pathlib import Path

from ingest.errors import PromptTemplateError

PROMPTS_DIR = Path(__file__).parent

__all__ = ["PROMPTS_DIR", "escape_data", "load_prompt", "render_prompt", "template_variables"]

# Report text goes into prompts between <sources>/<passage> tags and under [n] headers. Its own
# angle and square brackets become their full-width forms, so no report can close a delimiter,
# open a new one or forge a numbered source, whatever it contains (unlike a random boundary,
# this does not depend on the model noticing which boundary is the real one).
_DATA_ESCAPES = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］"})


def escape_data(text: str) -> str:
    """Report text made safe to place inside a prompt's delimiters."""
    return text.translate(_DATA_ESCAPES)


def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> str:
    path = directory / f"{name}.md"
    if not path.is_file():
        raise PromptTemplateError(f"prompt template '{name}' not found at {path}")
    return path.read_text(encoding="utf-8")


def template_variables(template: str) -> set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field}
    except ValueError as exc:
        raise PromptTemplateError(f"malformed prompt template: {exc}") from exc


def render_prompt(name: str, directory: Path = PROMPTS_DIR, **values: str) -> str:
    template = load_prompt(name, directory)
    wanted = template_variables(template)
    missing = sorted(wanted - values.keys())
    if missing:
        raise PromptTemplateError(
            f"prompt template '{name}' needs variable(s) {', '.join(missing)}, which were not given"
        )
    unknown = sorted(values.keys() - wanted)
    if unknown:
        raise PromptTemplateError(
            f"prompt template '{name}' has no placeholder for {', '.join(unknown)}"
        )
    return template.format(**values)
