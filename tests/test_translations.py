"""The German catalogues: complete, well-formed and in step with the source strings.

Source strings (msgids) are English, so English needs no catalogue; German comes from
``locale/de/LC_MESSAGES/django.po`` of the package (the platform and the first apps) and
from the same path inside every app that keeps a catalogue of its own (ADR 0015):
``makemessages`` puts each string into the catalogue of the nearest ``locale`` folder.
"""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation

import rathaus

PACKAGE_DIR = Path(rathaus.__file__).resolve().parent
PO_RELATIVE = Path("locale") / "de" / "LC_MESSAGES" / "django.po"
PO_PATH = PACKAGE_DIR / PO_RELATIVE
MO_PATH = PO_PATH.with_suffix(".mo")
# The package's catalogue and those of apps with their own (``<app>/locale/...``).
CATALOGUES = sorted(
    path.relative_to(PACKAGE_DIR) for path in PACKAGE_DIR.glob("**/locale/de/LC_MESSAGES/django.po")
)
MAKEMESSAGES_ARGS = ["makemessages", "-l", "de", "--no-obsolete", "--no-location"]
REGENERATE_HINT = (
    "cd src/rathaus && ../../.venv/bin/rathaus makemessages -l de --no-obsolete --no-location"
)
GETTEXT_TOOLS = ["xgettext", "msguniq", "msgmerge", "msgattrib"]

# %(name)s, %(count)d, %(value).2f ...
NAMED_PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
KEYWORD_LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")\s*$')


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    def __str__(self) -> str:
        context = f" (context {self.msgctxt!r})" if self.msgctxt is not None else ""
        return f"line {self.line}: {self.msgid!r}{context}"


def _unquote(literal: str) -> str:
    """The value of one quoted PO string literal."""
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(0)), literal.strip()[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (header included, obsolete ``#~`` entries left out)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    pending_flags: set[str] = set()
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        nonlocal entry, target
        if entry is not None:
            entries.append(entry)
        entry, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            pending_flags = set()  # flags of an obsolete (#~) entry end with it
            continue
        if line.startswith("#"):
            if entry is not None and target is not None:
                finish()  # a comment after the msgstr starts the next entry
            if line.startswith("#,"):
                pending_flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue  # translator, extracted, reference, previous (#|) and obsolete (#~) lines
        if line.startswith('"'):
            if entry is None or target is None:
                raise ValueError(f"{path}:{number}: string continuation outside an entry")
            keyword, index = target
            value = _unquote(line)
            if keyword == "msgstr":
                entry.msgstr[index or 0] += value
            else:
                setattr(entry, keyword, getattr(entry, keyword) + value)
            continue
        match = KEYWORD_LINE.match(line)
        if match is None:
            raise ValueError(f"{path}:{number}: cannot parse {raw!r}")
        keyword, value = match.group(1), _unquote(match.group(2))
        # msgctxt, or a msgid not preceded by its msgctxt, begins the next entry.
        starts_entry = keyword == "msgctxt" or (keyword == "msgid" and target != ("msgctxt", None))
        if entry is not None and starts_entry:
            finish()
        if entry is None:
            entry = Entry(flags=pending_flags, line=number)
            pending_flags = set()
        if keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if "[" in keyword else 0
            entry.msgstr[index] = value
            target = ("msgstr", index)
        else:
            setattr(entry, keyword, value)
            target = (keyword, None)
    finish()
    return entries


@pytest.fixture(scope="module", params=CATALOGUES, ids=str)
def catalogue(request: pytest.FixtureRequest) -> list[Entry]:
    path = PACKAGE_DIR / request.param
    assert path.exists(), f"{path} is missing; create it with: {REGENERATE_HINT}"
    return parse_po(path)


def test_package_catalogue_exists() -> None:
    assert PO_RELATIVE in CATALOGUES, f"{PO_PATH} is missing; create it with: {REGENERATE_HINT}"


def _messages(entries: list[Entry]) -> list[Entry]:
    return [entry for entry in entries if entry.msgid != "" or entry.msgctxt is not None]


def test_header_declares_german_utf8_and_plural_forms(catalogue: list[Entry]) -> None:
    headers = [entry for entry in catalogue if entry.msgid == "" and entry.msgctxt is None]
    assert len(headers) == 1, "the catalogue needs exactly one header entry"
    header = headers[0].msgstr[0]
    assert "Language: de\n" in header
    assert "Content-Type: text/plain; charset=UTF-8\n" in header
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in header


def test_no_entry_is_fuzzy(catalogue: list[Entry]) -> None:
    fuzzy = [str(entry) for entry in catalogue if "fuzzy" in entry.flags]
    assert not fuzzy, "fuzzy entries are not used by gettext; review them:\n" + "\n".join(fuzzy)


def test_every_entry_is_translated(catalogue: list[Entry]) -> None:
    untranslated = []
    for entry in _messages(catalogue):
        forms = 2 if entry.msgid_plural is not None else 1
        if sorted(entry.msgstr) != list(range(forms)) or not all(entry.msgstr.values()):
            untranslated.append(str(entry))
    assert not untranslated, "untranslated entries:\n" + "\n".join(untranslated)


def test_placeholders_are_kept(catalogue: list[Entry]) -> None:
    problems = []
    for entry in _messages(catalogue):
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        known = {name for source in sources for name in NAMED_PLACEHOLDER.findall(source)}
        for index, translation_ in entry.msgstr.items():
            # German has two forms: msgstr[0] renders msgid, msgstr[1] msgid_plural.
            expected = set(NAMED_PLACEHOLDER.findall(sources[min(index, len(sources) - 1)]))
            found = set(NAMED_PLACEHOLDER.findall(translation_))
            if missing := expected - found:
                problems.append(f"{entry} msgstr[{index}] lacks %({', '.join(sorted(missing))})")
            if unknown := found - known:
                problems.append(f"{entry} msgstr[{index}] adds %({', '.join(sorted(unknown))})")
    assert not problems, "placeholders differ:\n" + "\n".join(problems)


def test_catalogues_are_current(tmp_path: Path) -> None:
    """makemessages run on a copy of the sources yields exactly the committed msgids."""
    missing_tools = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing_tools:
        pytest.fail(
            f"GNU gettext is required ({', '.join(missing_tools)} not found on PATH); "
            "install it, e.g. `apt-get install gettext`."
        )
    sources = tmp_path / "src" / "rathaus"
    shutil.copytree(
        PACKAGE_DIR, sources, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    )
    # The real settings point LOCALE_PATHS at the committed catalogue: redirect it to
    # the copy so the committed files are never written.
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "translations_check_settings.py").write_text(
        "from rathaus.settings.test import *  # noqa: F403\n"
        f"LOCALE_PATHS = [{str(sources / 'locale')!r}]\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "translations_check_settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(shim), os.environ.get("PYTHONPATH")])),
    }
    before = {relative: (PACKAGE_DIR / relative).read_bytes() for relative in CATALOGUES}
    # -P: the copied tree (cwd) must not shadow importable modules.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-P", "-m", "django", *MAKEMESSAGES_ARGS],
        cwd=sources,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    after = {relative: (PACKAGE_DIR / relative).read_bytes() for relative in CATALOGUES}
    assert after == before, "the check must not write the committed catalogues"
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"

    def show(keys: set[tuple[str | None, str, str | None]]) -> str:
        return "\n".join(f"  {msgid!r}" for _, msgid, _ in sorted(keys, key=repr))

    regenerated_catalogues = sorted(
        path.relative_to(sources) for path in sources.glob("**/locale/de/LC_MESSAGES/django.po")
    )
    assert regenerated_catalogues == CATALOGUES
    stale = []
    for relative in CATALOGUES:
        regenerated = {entry.key for entry in _messages(parse_po(sources / relative))}
        committed = {entry.key for entry in _messages(parse_po(PACKAGE_DIR / relative))}
        if regenerated != committed:
            stale.append(
                f"{relative}:\nNot yet in the catalogue:\n{show(regenerated - committed)}\n"
                f"No longer in the sources:\n{show(committed - regenerated)}"
            )
    assert not stale, (
        "German catalogues are out of date; run\n"
        f"  {REGENERATE_HINT}\n"
        "and translate the new entries.\n" + "\n".join(stale)
    )


def test_german_translation_is_active() -> None:
    if not MO_PATH.exists():
        pytest.fail(f"{MO_PATH} is missing: run `make messages` to compile the translations.")
    with translation.override("de"):
        assert translation.gettext("Skip to main content") == "Zum Inhalt springen", (
            "German translation not applied; run `make messages` to recompile."
        )
    with translation.override("en"):
        assert translation.gettext("Skip to main content") == "Skip to main content"


def test_catalogues_agree_on_shared_messages() -> None:
    """Django merges all catalogues into one per language, so a msgid translated
    differently in two catalogues would show one app's word in the other's pages. Tell
    the meanings apart with a context (``pgettext``, ``{% translate "Order" context "..." %}``).
    """
    seen: dict[tuple[str | None, str, str | None], tuple[Path, dict[int, str]]] = {}
    conflicts = []
    for relative in CATALOGUES:
        for entry in _messages(parse_po(PACKAGE_DIR / relative)):
            first = seen.setdefault(entry.key, (relative, entry.msgstr))
            if first[1] != entry.msgstr:
                conflicts.append(
                    f"{entry.msgid!r}: {first[1]} in {first[0]}, {entry.msgstr} in {relative}"
                )
    assert not conflicts, "the same message is translated differently:\n" + "\n".join(conflicts)
