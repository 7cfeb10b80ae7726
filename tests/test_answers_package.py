"""The answer engine's public surface, and the old `app.answering` names that still work."""

from __future__ import annotations

import app.answering
import app.answers
from app.answers import corpus, lookup, overview, publication, service


def test_the_package_exports_the_answer_models():
    assert app.answers.__all__ == [
        "GRADES",
        "MENTIONED",
        "NOT_MENTIONED",
        "RELATED",
        "Answer",
        "Citation",
        "Grade",
        "Mode",
        "Progress",
        "Related",
        "TownshipSupport",
        "Verdict",
    ]


def test_the_old_module_names_the_same_objects():
    assert app.answering.AnswerService is service.AnswerService
    assert app.answering.Filters is service.Filters
    for name in app.answering.__all__:
        assert getattr(app.answering, name) is not None, name


def test_each_question_kind_is_one_function_of_the_engine():
    for kind in (corpus, lookup, overview, publication):
        assert callable(kind.answer)
        assert next(iter(kind.answer.__annotations__)) == "engine"
