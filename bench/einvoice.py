"""Throughput of the XRechnung validation and time for large invoices.

1. Invoices per second over the 86 official test-suite instances with warm stylesheets,
   using two worker processes (both cores), through the project's engine
   (``rathaus.einvoice.kosit.Validator``: hardened parse, scenario choice, XSD, Schematron,
   SVRL reading, custom levels, verdict) - and, in the same run, through a bare reference
   pipeline: lxml XSD validation plus saxonche running the same two stylesheets, with no
   project code (scenario picked by a dict lookup, SVRL counted with a string search).
   Every instance must be accepted by the engine. The bare pipeline's "accepted" counts
   documents without a fatal finding: it ignores the scenarios' custom levels, so it
   rejects the few instances whose BR-CL-* findings the XRechnung scenarios downgrade.
2. Time for one invoice of 100, 1,000 and 5,000 lines (made from test-suite instance
   01.01a UBL, totals recomputed so it stays valid), engine and bare pipeline.

Results go to ``bench/results/einvoice.json``. Target: the engine's own overhead under
25 % of the bare pipeline's time. Run from the repository root, preferably under
``nice -n 10``: ``.venv/bin/python bench/einvoice.py [--rounds 3]``. About a minute.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from portal import git_commit  # noqa: E402  (the sibling benchmark's helper)

SHARED = Path(os.environ.get("RATHAUS_SHARED_DIR", REPO_DIR.parent / "shared"))
ARTEFACTS = Path(os.environ.get("RATHAUS_EINVOICE_ARTEFACTS_DIR", SHARED / "data" / "xrechnung"))
SUITE = SHARED / "data" / "xrechnung" / "testsuite"
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "einvoice.json"
LINE_COUNTS = (100, 1000, 5000)

_CACHE = Path(tempfile.gettempdir()) / "rathaus-bench-einvoice"


def _release_root() -> tuple[Any, Path]:
    from rathaus.einvoice.kosit import KNOWN_RELEASES
    from rathaus.einvoice.kosit.artefacts import release_unpacked

    release = KNOWN_RELEASES[0]
    return release, release_unpacked(release, source_dir=ARTEFACTS, cache_dir=_CACHE)


# --- the project's engine ---------------------------------------------------------------

_validator: Any = None


def _engine_init() -> None:
    global _validator
    from rathaus.einvoice.kosit import Validator

    _validator = Validator([_release_root()])
    _validator.warm()


def _engine_run(paths: list[str]) -> tuple[float, list[bool]]:
    datas = [Path(p).read_bytes() for p in paths]
    start = time.perf_counter()
    verdicts = [_validator.validate(d).accepted for d in datas]
    return time.perf_counter() - start, verdicts


# --- the bare reference pipeline --------------------------------------------------------

_bare: dict[str, Any] = {}

UBL_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CN_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"


def _bare_init() -> None:
    from lxml import etree
    from saxonche import PySaxonProcessor

    _release, root = _release_root()
    processor = PySaxonProcessor(license=False)
    compiler = processor.new_xslt30_processor()

    def xslt(path: str) -> Any:
        return compiler.compile_stylesheet(stylesheet_file=str(root / path))

    ubl = (
        xslt("resources/ubl/2.1/xsl/EN16931-UBL-validation.xsl"),
        xslt("resources/xrechnung/3.0.2/xsl/XRechnung-UBL-validation.xsl"),
    )
    cii = (
        xslt("resources/cii/16b/xsl/EN16931-CII-validation.xsl"),
        xslt("resources/xrechnung/3.0.2/xsl/XRechnung-CII-validation.xsl"),
    )

    def xsd(path: str) -> Any:
        return etree.XMLSchema(etree.parse(str(root / path)))

    _bare.update(
        processor=processor,
        pipelines={
            UBL_NS: (xsd("resources/ubl/2.1/xsd/maindoc/UBL-Invoice-2.1.xsd"), ubl),
            CN_NS: (xsd("resources/ubl/2.1/xsd/maindoc/UBL-CreditNote-2.1.xsd"), ubl),
            CII_NS: (xsd("resources/cii/16b/xsd/CrossIndustryInvoice_100pD16B.xsd"), cii),
        },
    )


def _bare_one(data: bytes) -> bool:
    from lxml import etree

    tree = etree.fromstring(data)
    schema, stylesheets = _bare["pipelines"][etree.QName(tree).namespace]
    if not schema.validate(tree):
        return False
    document = _bare["processor"].parse_xml(xml_text=data.decode("utf-8"))
    failed = 0
    for stylesheet in stylesheets:
        svrl = stylesheet.transform_to_string(xdm_node=document)
        failed += svrl.count('flag="fatal"')
    return failed == 0


def _bare_run(paths: list[str]) -> tuple[float, list[bool]]:
    datas = [Path(p).read_bytes() for p in paths]
    start = time.perf_counter()
    verdicts = [_bare_one(d) for d in datas]
    return time.perf_counter() - start, verdicts


# --- measurements -----------------------------------------------------------------------


def throughput(kind: str, files: list[str], rounds: int, workers: int) -> dict[str, Any]:
    """Invoices per second with ``workers`` processes, each warm before the clock starts."""
    init, run = (_engine_init, _engine_run) if kind == "engine" else (_bare_init, _bare_run)
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=init) as pool:
        # Warm-up: one pass per worker, not timed.
        pool.map(run, [files] * workers)
        chunks = [files[i::workers] for i in range(workers)]
        walls = []
        verdicts: list[bool] = []
        for _ in range(rounds):
            start = time.perf_counter()
            results = pool.map(run, chunks)
            walls.append(time.perf_counter() - start)
            verdicts = [v for _t, vs in results for v in vs]
    best = min(walls)
    return {
        "workers": workers,
        "rounds": rounds,
        "invoices": len(files),
        "wall_seconds": [round(w, 4) for w in walls],
        "invoices_per_second": round(len(files) / best, 1),
        "invoices_per_second_median": round(len(files) / statistics.median(walls), 1),
        "accepted": sum(verdicts),
    }


def large_invoice(lines: int) -> bytes:
    """Test-suite instance 01.01a with ``lines`` lines of 10.00 EUR at 7 %, still valid."""
    text = (SUITE / "business-cases" / "standard" / "01.01a-INVOICE_ubl.xml").read_text("utf-8")
    head, _sep, _rest = text.partition("<cac:InvoiceLine>")
    line_template = (
        "<cac:InvoiceLine><cbc:ID>{n}</cbc:ID>"
        '<cbc:InvoicedQuantity unitCode="XPP">1</cbc:InvoicedQuantity>'
        '<cbc:LineExtensionAmount currencyID="EUR">10.00</cbc:LineExtensionAmount>'
        "<cac:Item><cbc:Name>Position {n}</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID>"
        "<cbc:Percent>7</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>"
        "</cac:ClassifiedTaxCategory></cac:Item>"
        '<cac:Price><cbc:PriceAmount currencyID="EUR">10.00</cbc:PriceAmount></cac:Price>'
        "</cac:InvoiceLine>"
    )
    net = Decimal(10 * lines).quantize(Decimal("0.01"))
    vat = (net * Decimal("0.07")).quantize(Decimal("0.01"))
    gross = net + vat
    head = (
        head.replace(">314.86<", f">{net}<")
        .replace(">22.04<", f">{vat}<")
        .replace(">336.9<", f">{gross}<")
    )
    body = "".join(line_template.format(n=n) for n in range(1, lines + 1))
    return (head + body + "</ubl:Invoice>\n").encode("utf-8")


def large_invoices() -> list[dict[str, Any]]:
    _engine_init()
    _bare_init()
    rows = []
    for lines in LINE_COUNTS:
        data = large_invoice(lines)
        timings: dict[str, float] = {}
        for name, one in (
            ("engine", lambda d=data: _validator.validate(d).accepted),
            ("bare", lambda d=data: _bare_one(d)),
        ):
            one()  # warm the path for this size
            runs = []
            for _ in range(3 if lines < 5000 else 2):
                start = time.perf_counter()
                accepted = one()
                runs.append(time.perf_counter() - start)
            timings[name] = min(runs)
            timings[f"{name}_accepted"] = accepted
        rows.append(
            {
                "lines": lines,
                "bytes": len(data),
                "engine_seconds": round(timings["engine"], 3),
                "bare_seconds": round(timings["bare"], 3),
                "engine_accepted": timings["engine_accepted"],
                "bare_accepted": timings["bare_accepted"],
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the 86 (3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    files = [str(p) for p in sorted(SUITE.rglob("*.xml"))]
    if len(files) != 86:
        print(f"expected the 86 test-suite instances in {SUITE}, found {len(files)}")
        return 2
    load_before = os.getloadavg()
    engine = throughput("engine", files, args.rounds, args.workers)
    bare = throughput("bare", files, args.rounds, args.workers)
    overhead = bare["invoices_per_second"] / engine["invoices_per_second"] - 1
    large = large_invoices()
    result = {
        "benchmark": "einvoice",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "saxonche": metadata.version("saxonche"),
            "lxml": metadata.version("lxml"),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        },
        "suite": {"engine": engine, "bare": bare, "engine_overhead": round(overhead, 3)},
        "large_invoices": large,
        "targets": {
            "all_accepted": engine["accepted"] == 86,
            "overhead_under_25_percent": overhead < 0.25,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if engine["accepted"] == 86 else 1


if __name__ == "__main__":
    sys.exit(main())
