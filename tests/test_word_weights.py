"""Question words' weights (app.word_weights): from the bundled reports, whatever the store."""

from __future__ import annotations

from app.answers.service import AnswerService
from app.settings import SAMPLE_CORPUS
from app.word_weights import RAREST_SHARE, passage_share, reference_passages, word_weight
from tests.conftest import ingest_into


def test_a_word_weighs_the_same_whichever_reports_the_store_holds(service, fresh_store):
    words = ["法治", "法律明白人", "调解", "矛调中心"]
    among_five = service.retriever.term_weights(words)
    ingest_into(fresh_store, sorted(SAMPLE_CORPUS.glob("*.txt"))[0])
    assert AnswerService(fresh_store).retriever.term_weights(words) == among_five


def test_rarer_words_weigh_more_and_a_word_no_report_uses_is_floored():
    assert len(reference_passages()) > 50
    assert word_weight("法律明白人", ("法律明白人",)) > word_weight("法治", ("法治",))
    unused = passage_share(("矛调中心",))
    assert unused == max(0.5 / (len(reference_passages()) + 1), RAREST_SHARE)
