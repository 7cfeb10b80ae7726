"""`fazhi eval` on the bundled gold set: the metrics EVAL.md reports, guarded against regressions."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from app.cli import cli
from app.evaluate import load_gold, run_eval
from app.settings import GOLD_SET


def test_gold_set_is_well_formed():
    gold = load_gold(GOLD_SET)
    kinds = [item.kind for item in gold]
    assert len(gold) >= 40
    assert kinds.count("none") >= 5 and kinds.count("lookup") >= 15 and kinds.count("corpus") >= 15


def test_eval_meets_the_quality_floor(service):
    result = run_eval(service, GOLD_SET, baseline=True)
    ours, base = result["fazhi"], result["baseline"]
    assert ours["citation_validity"] == 1.0
    assert ours["lookup_recall_at_5"] >= 0.95
    assert ours["township_precision"] >= 0.88
    assert ours["township_recall"] >= 0.85
    assert ours["invented_townships_count"] <= 1
    # the naive baseline (fixed chunks, dense only, top 4) must be clearly worse
    assert ours["township_f1"] > base["township_f1"] + 0.1
    assert ours["lookup_mrr_at_10"] > base["lookup_mrr_at_10"]
    assert "| township_precision |" in result["report"]


def test_eval_cli_prints_metrics_as_json(sample_store_dir):
    result = CliRunner().invoke(
        cli, ["eval", "--store", str(sample_store_dir), "--no-baseline", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["questions"] >= 40 and data["baseline"] is None
    assert 0.0 <= data["fazhi"]["township_f1"] <= 1.0
