"""The answer engine's parts, following a question's data: the shared models (citations,
verdicts, answers), the graded verdicts of corpus-wide questions, and the answer text.

`app.answering.AnswerService` is the one service the CLI, the web app and the API call.
"""

from app.answers.models import (
    GRADES,
    MENTIONED,
    NOT_MENTIONED,
    RELATED,
    Answer,
    Citation,
    Grade,
    Mode,
    Related,
    Verdict,
)

__all__ = [
    "GRADES",
    "MENTIONED",
    "NOT_MENTIONED",
    "RELATED",
    "Answer",
    "Citation",
    "Grade",
    "Mode",
    "Related",
    "Verdict",
]
