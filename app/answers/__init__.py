"""The answer engine, one module per step of a question's data.

question → scope (`service.Filters`) → evidence (`evidence`: topic words, each report's best
passages) → verdicts (`verdicts`: 明确提到, 相关, 未提及 by `rule.DecisionRule`) → answer text
(`listing`, `citations`). Each kind of question is one function: `corpus.answer` (corpus-wide
and peer practices, with `practice` naming the practices), `lookup.answer`,
`publication.answer`, `overview.answer`. `service.AnswerService` is the one service the CLI,
the web app and the API call; `models` holds what an answer is made of.
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
    Progress,
    Related,
    TownshipSupport,
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
    "Progress",
    "Related",
    "TownshipSupport",
    "Verdict",
]
