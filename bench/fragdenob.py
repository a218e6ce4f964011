"""Frag den OB: list/search page, similar-question suggestions and statistics with a few
thousand published questions, on PostgreSQL.

Creates a throw-away PostgreSQL database, migrates it and stores ``--questions`` (default
3000) published questions of one municipality (titles and backgrounds built from a
German vocabulary, a third answered, supporters on some). Then it times:

- the public list page (``GET /frag-den-ob/``: newest first, with a search word, with
  a topic filter), full request through the test client, against the baseline of the
  plain query of one page (20 rows of published questions, newest first) in the same run;
- the duplicate suggestion while typing (``suggestions.similar_questions``, warm index,
  as the htmx fragment asks it) and the cold index build after a publication, against
  the baseline of a plain ``icontains`` query on the title for the same words;
- the statistics selector (answer rate, median/p90, open by age, per topic and month).

Results are printed and written to ``bench/results/fragdenob.json``. Run from the
repository root: ``.venv/bin/python bench/fragdenob.py [--questions 3000]``. The database
is dropped at the end, also after a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from portal import git_commit  # the sibling benchmark's helper

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "fragdenob.json"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "bench.localhost"
REPEATS = 40

sys.path.insert(0, str(REPO_DIR / "src"))
sys.path.insert(0, str(REPO_DIR))

SUBJECTS = (
    "Radweg",
    "Bahnhofstraße",
    "Kita",
    "Grundschule",
    "Hallenbad",
    "Spielplatz",
    "Parkplätze",
    "Straßenbeleuchtung",
    "Busverbindung",
    "Gewerbegebiet",
    "Stadtbibliothek",
    "Wochenmarkt",
    "Friedhof",
    "Baustelle",
    "Lärmschutz",
    "Sportplatz",
    "Jugendhaus",
    "Wohnungsbau",
    "Grünflächen",
    "Feuerwehrhaus",
)
VERBS = (
    "saniert",
    "gebaut",
    "geöffnet",
    "erweitert",
    "verlegt",
    "geschlossen",
    "beleuchtet",
    "bezahlt",
    "geplant",
    "gepflegt",
)
PLACES = ("in der Innenstadt", "in der Nordstadt", "in der Südstadt", "am Marktplatz", "")
SEARCHES = ("Radweg", "Hallenbad Öffnung", "Kita Nordstadt Plätze", "Baustelle Lärm")
TYPED = (
    "Wann wird der Radweg in der Bahnhofstraße",
    "Hallenbad wieder geöffnet?",
    "Warum dauert die Baustelle am Marktplatz so lange",
    "Kita Plätze Nordstadt fehlen",
)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p95_ms": round(percentile(values, 0.95) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3),
    }


def timed(call: Callable[[], Any], repeats: int = REPEATS) -> dict[str, float]:
    values = []
    for _n in range(repeats):
        started = time.perf_counter()
        call()
        values.append(time.perf_counter() - started)
    return summary(values)


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new PostgreSQL database on ``server_url``'s server, dropped afterwards."""
    import psycopg

    name = f"rathaus_bench_fragdenob_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str, var_dir: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["RATHAUS_VAR_DIR"] = var_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(40))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rathaus.settings.base"
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("RATHAUS_TASK_BACKEND", None)
    import django

    django.setup()
    import logging

    from django.conf import settings

    logging.disable(logging.WARNING)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    # Pages render without a collectstatic run (no manifest): plain static URLs.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def populate(count: int) -> Any:
    """One municipality with ``count`` published questions (a third answered)."""
    from django.utils import timezone

    from rathaus.accounts.models import User
    from rathaus.core.models import Municipality, MunicipalityDomain
    from rathaus.fragdenob.models import District, Question, Support, Topic

    municipality = Municipality.objects.create(
        slug="benchstadt", name="Benchstadt", ags="08999099", state="BW"
    )
    MunicipalityDomain.objects.create(municipality=municipality, hostname=HOST)
    topics = [
        Topic.objects.create(municipality=municipality, slug=f"t{n}", name_de=f"Thema {n}")
        for n in range(8)
    ]
    districts = [
        District.objects.create(municipality=municipality, slug=f"d{n}", name=f"Stadtteil {n}")
        for n in range(5)
    ]
    users = User.objects.bulk_create(
        User(municipality=municipality, username=f"b{n}", email=f"b{n}@example.org")
        for n in range(200)
    )
    rng = random.Random(7)
    now = timezone.now()
    rows = []
    for n in range(count):
        subject, verb, place = rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(PLACES)
        published = now - timedelta(days=rng.uniform(0, 365))
        answered = rng.random() < 0.33
        rows.append(
            Question(
                municipality=municipality,
                author=rng.choice(users),
                title=f"Wann wird {subject} {place} {verb}? (Frage {n})".replace("  ", " "),
                background=f"Seit Monaten warten wir auf {rng.choice(SUBJECTS)}. "
                f"Auch {rng.choice(SUBJECTS)} {rng.choice(VERBS)}.",
                topic=rng.choice(topics),
                district=rng.choice(districts) if rng.random() < 0.6 else None,
                status="answered" if answered else "published",
                submitted_at=published - timedelta(hours=5),
                published_at=published,
                support_until=published + timedelta(days=14),
                answer=f"{subject} wird {verb}." if answered else "",
                answered_at=published + timedelta(days=rng.uniform(1, 40)) if answered else None,
            )
        )
    questions = Question.objects.bulk_create(rows, batch_size=1000)
    Support.objects.bulk_create(
        (
            Support(municipality=municipality, question=q, user=u)
            for q in questions[: count // 3]
            for u in rng.sample(users, 3)
        ),
        batch_size=2000,
    )
    return municipality, topics


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.test import Client

    from rathaus.fragdenob import selectors, suggestions
    from rathaus.fragdenob.models import Question

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    municipality, topics = populate(args.questions)
    populate_seconds = round(time.perf_counter() - started, 2)
    client = Client(HTTP_HOST=HOST)

    def page(params: dict[str, str]) -> None:
        response = client.get("/frag-den-ob/", params, secure=True)
        assert response.status_code == 200, response.status_code

    def plain_page() -> None:
        list(
            Question.objects.filter(municipality=municipality, status__in=Question.PUBLIC)
            .select_related("topic", "district")
            .order_by("-published_at", "-pk")[:20]
        )

    page({})  # warm up templates and the tenant cache
    list_results = {
        "page_newest": timed(lambda: page({})),
        "page_search": timed(lambda: page({"q": rng_choice(SEARCHES)})),
        "page_topic": timed(lambda: page({"thema": topics[3].slug, "sortierung": "top"})),
        "baseline_plain_query_one_page": timed(plain_page),
    }

    suggestions.index_forget()
    cold = []
    for _n in range(5):
        suggestions.index_forget()
        begun = time.perf_counter()
        suggestions.index_for(municipality=municipality)
        cold.append(time.perf_counter() - begun)

    def suggest() -> None:
        suggestions.similar_questions(municipality=municipality, text=rng_choice(TYPED))

    def fragment() -> None:
        response = client.get("/frag-den-ob/aehnliche/", {"title": rng_choice(TYPED)}, secure=True)
        assert response.status_code == 200

    def plain_icontains() -> None:
        words = [w for w in rng_choice(TYPED).split() if len(w) > 3][:3]
        query = Question.objects.filter(municipality=municipality, status__in=Question.PUBLIC)
        for word in words:
            query = query.filter(title__icontains=word)
        list(query.order_by("-published_at")[:5])

    hits = suggestions.similar_questions(municipality=municipality, text=TYPED[0])
    suggestion_results = {
        "index_build_cold": summary(cold),
        "similar_questions_warm": timed(suggest, REPEATS * 2),
        "htmx_fragment_request": timed(fragment),
        "baseline_plain_icontains_query": timed(plain_icontains, REPEATS * 2),
        "example": {"typed": TYPED[0], "first_hits": [h.question.title for h in hits[:3]]},
    }
    statistics_results = timed(lambda: selectors.statistics(municipality=municipality), 10)
    return {
        "questions": args.questions,
        "populate_seconds": populate_seconds,
        "list": list_results,
        "suggestions": suggestion_results,
        "statistics_selector": statistics_results,
    }


_rng = random.Random(11)


def rng_choice(values: tuple[str, ...]) -> str:
    return _rng.choice(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=3000, help="published questions (3000)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server URL to create the throw-away database on",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if not 10 <= args.questions <= 100_000:
        parser.error("--questions must be between 10 and 100000")
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="rathaus-bench-") as var_dir,
        throwaway_database(args.postgres) as database_url,
    ):
        setup_django(database_url, var_dir)
        results = run(args)
    report = {
        "benchmark": "fragdenob",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "git": git_commit(),
        **results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    for group in ("list", "suggestions"):
        for label, values in results[group].items():
            if "median_ms" in values:
                print(
                    f"{group} {label}: median {values['median_ms']} ms, p95 {values['p95_ms']} ms"
                )
    stats = results["statistics_selector"]
    print(f"statistics selector: median {stats['median_ms']} ms, p95 {stats['p95_ms']} ms")
    print(f"example suggestions: {results['suggestions']['example']}")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
