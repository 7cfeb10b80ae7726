"""Every gold question's answer as JSON, to diff two codes' answers on the same store.

    python bench/gold_answers.py --store DIR --out new.json          # this checkout's code
    (copy this file into another checkout and run it there with --out old.json)

Each entry (keyed "set/id") holds the townships listed as 明确提到, the related townships, and
each citation's township, report and first 40 characters.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.answers.service import AnswerService
from app.evaluate import load_gold
from app.services import open_store
from app.settings import GOLD_SETS, Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    service = AnswerService(open_store(Settings(store=args.store)))
    out = {}
    for gold in GOLD_SETS:
        for item in load_gold(gold):
            answer = service.ask(item.question)
            out[f"{gold.stem}/{item.id}"] = {
                "townships": answer.townships,
                "related": [r.township for r in answer.related],
                "citations": [[c.township, c.report_id, c.text[:40]] for c in answer.citations],
            }
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(out)} answers written to {args.out}")


if __name__ == "__main__":
    main()
