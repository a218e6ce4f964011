"""Accuracy and latency of the service assistant on the dev questions, with baselines.

Creates a throw-away SQLite database, migrates it, imports the City of Munich's 287
services with the catalogue's DLDB import (``catalog_import_dldb``), and asks every
question of ``../shared/data/assistant/dev-questions.jsonl`` three ways in the same run:

- the assistant (``selectors.assistant_rank``: the engine with lexicon, stemming,
  compounds and typo tolerance, including its per-question cache check in the database),
- a plain BM25 over service name + description (HTML stripped, lower case, ``\\w+``
  tokens, k1 1.2, b 0.75), the baseline the data set's README describes,
- the catalogue's keyword engine (``catalog.search.KeywordSearch``, one SQL query).

It reports top-1 and top-3 accuracy (a question counts when a service of its
``expected`` list is first / among the first three) and the p50/p95 answer latency over
``--repeats`` rounds, and times a full answer with details (where to go, fees, waiting
time). Targets: top-3 >= 95 %, top-1 >= 85 %, p95 < 50 ms. Results are printed and
written to ``bench/results/assistant.json``. Run from the repository root:
``.venv/bin/python bench/assistant.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR / "src"))
sys.path.insert(0, str(REPO_DIR / "bench"))
SHARED_DIR = Path(os.environ.get("RATHAUS_SHARED_DIR", REPO_DIR.parent / "shared"))
SERVICES_FILE = SHARED_DIR / "data" / "service-catalog" / "munich-dldb-services_de.json"
LOCATIONS_FILE = SHARED_DIR / "data" / "service-catalog" / "munich-dldb-locations_de.json"
QUESTIONS_FILE = SHARED_DIR / "data" / "assistant" / "dev-questions.jsonl"
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "assistant.json"
TARGETS = {"top1": 0.85, "top3": 0.95, "p95_ms": 50.0}


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


class PlainBM25:
    """BM25 over name + description: the README's baseline, nothing German-aware."""

    def __init__(self, docs: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tokens = {key: re.findall(r"\w+", text.lower()) for key, text in docs.items()}
        self.counts = {key: Counter(tokens) for key, tokens in self.tokens.items()}
        self.avg = sum(len(t) for t in self.tokens.values()) / max(len(self.tokens), 1)
        df: Counter[str] = Counter()
        for tokens in self.tokens.values():
            df.update(set(tokens))
        n = len(self.tokens)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}

    def search(self, query: str, limit: int = 10) -> list[str]:
        terms = re.findall(r"\w+", query.lower())
        scores: dict[str, float] = {}
        for key, counts in self.counts.items():
            length = len(self.tokens[key])
            score = 0.0
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    norm = tf + self.k1 * (1 - self.b + self.b * length / self.avg)
                    score += self.idf[term] * tf * (self.k1 + 1) / norm
            if score > 0:
                scores[key] = score
        return sorted(scores, key=lambda k: (-scores[k], k))[:limit]


def evaluate(name: str, rank: Any, questions: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    top1 = top3 = 0
    times: list[float] = []
    misses = []
    for round_number in range(repeats):
        for question in questions:
            started = time.perf_counter()
            ids = rank(question["q"])
            times.append((time.perf_counter() - started) * 1000)
            if round_number:
                continue
            expected = set(question["expected"])
            first = bool(ids) and ids[0] in expected
            three = any(i in expected for i in ids[:3])
            top1 += first
            top3 += three
            if not three:
                misses.append(question["q"][:80])
    n = len(questions)
    return {
        "engine": name,
        "questions": n,
        "top1": round(top1 / n, 4),
        "top3": round(top3 / n, 4),
        "p50_ms": round(percentile(times, 0.5), 3),
        "p95_ms": round(percentile(times, 0.95), 3),
        "max_ms": round(max(times), 3),
        "measurements": len(times),
        "top3_misses": misses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=5, help="Rounds of timing (first one scores)."
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    for path in (SERVICES_FILE, LOCATIONS_FILE, QUESTIONS_FILE):
        if not path.is_file():
            print(f"missing {path}; set RATHAUS_SHARED_DIR", file=sys.stderr)
            return 2
    workdir = tempfile.mkdtemp(prefix="rathaus-bench-assistant-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rathaus.settings.test")
    os.environ["RATHAUS_SHARED_DIR"] = str(SHARED_DIR)
    import django

    django.setup()
    from django.core.management import call_command

    from rathaus.assistant import selectors
    from rathaus.catalog.models import Service
    from rathaus.catalog.search import KeywordSearch
    from rathaus.catalog.services import catalog_import_dldb
    from rathaus.catalog.text import plain_text
    from rathaus.core.models import Municipality

    call_command("migrate", verbosity=0)
    municipality = Municipality.objects.create(
        slug="musterstadt", name="Musterstadt", ags="08999001", state="BW"
    )
    started = time.perf_counter()
    catalog_import_dldb(
        municipality=municipality, services_path=SERVICES_FILE, locations_path=LOCATIONS_FILE
    )
    import_seconds = time.perf_counter() - started
    services = list(Service.objects.filter(municipality=municipality, is_public=True))
    questions = [
        json.loads(line)
        for line in QUESTIONS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]

    started = time.perf_counter()
    selectors.assistant_rank(municipality=municipality, question="Reisepass", limit=3)
    index_seconds = time.perf_counter() - started

    def assistant(question: str) -> list[str]:
        results = selectors.assistant_rank(municipality=municipality, question=question, limit=10)
        return [item["service_id"] for item in results]

    bm25 = PlainBM25({s.source_id: f"{s.name_de} {plain_text(s.description_de)}" for s in services})
    keyword = KeywordSearch()

    def keywords(question: str) -> list[str]:
        hits = keyword.search(municipality=municipality, query=question, language="de", limit=10)
        return [hit.source_id for hit in hits]

    results = [
        evaluate("assistant", assistant, questions, args.repeats),
        evaluate("plain BM25 (name + description)", bm25.search, questions, args.repeats),
        evaluate("catalogue keyword search", keywords, questions, args.repeats),
    ]
    detail_times = []
    for question in questions:
        started = time.perf_counter()
        selectors.assistant_answer(
            municipality=municipality, question=question["q"], language=question["lang"]
        )
        detail_times.append((time.perf_counter() - started) * 1000)

    from portal import git_commit

    report = {
        "benchmark": "assistant",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "git": git_commit(),
        "data": {
            "services": len(services),
            "questions": len(questions),
            "questions_file": str(QUESTIONS_FILE.relative_to(SHARED_DIR)),
        },
        "import_seconds": round(import_seconds, 2),
        "first_index_build_seconds": round(index_seconds, 3),
        "results": results,
        "full_answer_with_details": {
            "p50_ms": round(percentile(detail_times, 0.5), 2),
            "p95_ms": round(percentile(detail_times, 0.95), 2),
        },
        "targets": TARGETS,
        "targets_met": {
            "top1": results[0]["top1"] >= TARGETS["top1"],
            "top3": results[0]["top3"] >= TARGETS["top3"],
            "p95_ms": results[0]["p95_ms"] < TARGETS["p95_ms"],
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    for row in results:
        print(
            f"{row['engine']:<36} top-1 {row['top1']:6.1%}  top-3 {row['top3']:6.1%}  "
            f"p50 {row['p50_ms']:7.2f} ms  p95 {row['p95_ms']:7.2f} ms"
        )
    print(
        f"full answer with details: p50 {report['full_answer_with_details']['p50_ms']} ms, "
        f"p95 {report['full_answer_with_details']['p95_ms']} ms; index build {index_seconds:.2f} s"
    )
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
