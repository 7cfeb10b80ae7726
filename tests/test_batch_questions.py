"""`fazhi ask --questions FILE`: many questions in one process, one JSON answer per line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.batch import QuestionsFileError, read_questions
from app.cli import cli

FLAGSHIP = "哪些乡镇把执法能力不足列为存在的问题？"


def ask_many(store: Path, path: Path, *flags: str) -> tuple[int, list[dict], str]:
    result = CliRunner().invoke(
        cli, ["ask", "--questions", str(path), "--store", str(store), *flags]
    )
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, answers, result.stderr


def test_a_file_of_questions_gets_one_answer_per_line_in_order(sample_store_dir, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text(
        f"# 先问全体，再问一个镇\n{FLAGSHIP}\n\n石桥镇有多少名法律明白人？\n"
        '{"id": "chq", "question": "法律顾问", "province": "重庆", "section": ["measures"]}\n',
        encoding="utf-8",
    )
    code, answers, _ = ask_many(sample_store_dir, questions)
    assert code == 0
    assert [a["question"] for a in answers] == [FLAGSHIP, "石桥镇有多少名法律明白人？", "法律顾问"]
    assert [a["line"] for a in answers] == [2, 4, 5]
    assert set(answers[0]["townships"]) >= {"石桥镇", "王场镇"}
    assert "159名法律明白人" in answers[1]["answer"]
    scoped = answers[2]
    assert scoped["id"] == "chq"
    assert scoped["citations"]
    assert {c["province"] for c in scoped["citations"]} == {"重庆市"}
    assert {c["section"] for c in scoped["citations"]} == {"measures"}


def test_a_line_may_ask_listed_years_only(sample_store_dir, tmp_path):
    """ "years": [2019, 2021] asks those two years (as "2019年和2021年" does), not 2019-2021."""
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "法律顾问", "years": [2019, 2021]}\n{"question": "法律顾问", "years": "2019-2021"}\n',
        encoding="utf-8",
    )
    code, (listed, ranged), _ = ask_many(sample_store_dir, questions)
    assert code == 0
    assert listed["filters"]["years"] == [2019, 2021]
    assert listed["citations"] and {c["year"] for c in listed["citations"]} <= {2019, 2021}
    assert (ranged["filters"]["year_from"], ranged["filters"]["year_to"]) == (2019, 2021)
    with pytest.raises(QuestionsFileError, match="'years' as a list must hold years"):
        read_questions(['{"question": "x", "years": ["2019"]}'], source="q.jsonl")


def test_each_answer_equals_the_single_question_answer(sample_store_dir, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(FLAGSHIP + "\n", encoding="utf-8")
    _, [batch], _ = ask_many(sample_store_dir, questions)
    single = CliRunner().invoke(cli, ["ask", FLAGSHIP, "--json", "--store", str(sample_store_dir)])
    alone = json.loads(single.stdout)
    for key in ("answer", "townships", "not_mentioned", "citations"):
        assert batch[key] == alone[key]


def test_command_line_filters_are_defaults_that_a_line_may_override(sample_store_dir, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "法律明白人"}\n{"question": "法律明白人", "province": "重庆"}\n',
        encoding="utf-8",
    )
    code, answers, _ = ask_many(sample_store_dir, questions, "--province", "河南")
    assert code == 0
    assert {c["province"] for c in answers[0]["citations"]} == {"河南省"}
    assert {c["province"] for c in answers[1]["citations"]} == {"重庆市"}


def test_a_failing_question_is_reported_on_its_line_and_the_rest_answered(
    sample_store_dir, tmp_path
):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "法律明白人", "county": "不存在县"}\n石桥镇有多少名法律明白人？\n',
        encoding="utf-8",
    )
    code, answers, stderr = ask_many(sample_store_dir, questions)
    assert code == 1
    assert "不存在县" in answers[0]["error"]
    assert "answer" not in answers[0]
    assert "159名法律明白人" in answers[1]["answer"]
    assert "1 of 2 questions failed" in stderr


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "x", "sections": ["problems"]}', "unknown key(s) sections"),
        ('{"question": ""}', "'question' is missing or empty"),
        ('{"question": "x", "years": "去年"}', "years must look like 2023 or 2021-2023"),
        ('{"question": "x", "section": "problem"}', "unknown section type(s) problem"),
        ('{"question": "x",', "not valid JSON"),
    ],
)
def test_a_bad_line_names_the_file_and_line_before_any_work(line, message):
    with pytest.raises(QuestionsFileError) as err:
        read_questions(["法律明白人", line], source="q.jsonl")
    assert str(err.value).startswith("q.jsonl:2: ")
    assert message in str(err.value)


def test_every_bad_line_and_reused_id_is_named_at_once():
    lines = [
        '{"id": "q1", "question": "法律明白人"}',
        '{"id": "q2", "question": "x", "year": "去年"}',
        "人民调解",
        '{"id": "q1", "question": "法律顾问"}',
        '{"question": "x",',
    ]
    with pytest.raises(QuestionsFileError) as err:
        read_questions(lines, source="q.jsonl")
    assert str(err.value).splitlines() == [
        "q.jsonl has 3 bad lines; fix them all, then run it again:",
        "  q.jsonl:2: years must look like 2023 or 2021-2023, got '去年'",
        "  q.jsonl:4: id 'q1' is used again (first on line 1)",
        "  q.jsonl:5: not valid JSON (Expecting property name enclosed in double quotes)",
    ]


def test_a_bad_questions_file_fails_with_one_clear_line(sample_store_dir, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "x", "year": "二〇二三"}\n', encoding="utf-8")
    code, answers, stderr = ask_many(sample_store_dir, questions)
    assert code == 1
    assert answers == []
    assert f"Error: {questions}:1: years must look like" in stderr

    code, _, stderr = ask_many(sample_store_dir, tmp_path / "missing.txt")
    assert code == 1
    assert "cannot read questions file" in stderr


def test_a_question_and_a_questions_file_are_not_both_given(sample_store_dir, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(FLAGSHIP, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["ask", FLAGSHIP, "--questions", str(questions), "--store", str(sample_store_dir)]
    )
    assert result.exit_code == 1
    assert "not both" in result.stderr
