"""One source of truth for the figures of the shipped models: what the README, the docs, the
demo and the CLI messages state about a packaged student (scores, validation R², flash,
arena, parameters, share of the teacher) must be what its model card records
(``edgesea.zoo.figures``), or be generated from the cards (the README's zoo table,
``benchmarks/build_zoo.py readme``).

Checked: every Markdown table row of README.md, docs/*.md and docs/models/*.md whose first
cell names one shipped student (rows about an earlier version - "before", "wave-", "old",
"not shipped" - are history and skipped), column by column where the header says what the
column holds; and every sentence naming one shipped student together with a fold-10 score.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from edgesea.packaged.names import available, zoo_name
from edgesea.packaged.tiers import TIERS
from edgesea.specialize.advice import training_advice
from edgesea.zoo.figures import card_figures, share_of_teacher, teacher_reference

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "docs" / "models").glob("*.md"))]
SHIPPED = [zoo_name(t, d, tier) for tier in TIERS for t, d in available(tier)]
NAME = re.compile(r"sea_urban_\d+(?:_mcu1m)?")
HISTORY = re.compile(r"before|wave-|\bold\b|not shipped|earlier|previous", re.I)
DEC = re.compile(r"(?<![\d.])0\.\d{3}(?!\d)")
INT = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")

pytestmark = pytest.mark.skipif(not SHIPPED, reason="no packaged students installed")


def _decimals(fig: dict) -> set[str]:
    out = set()
    for key in ("micro_auprc", "macro_auprc", "accuracy"):
        for v in (fig[key] or {}).values():
            if v is not None:
                out.add(f"{v:.3f}")
    return out


def _columns(header: str) -> dict[int, str]:
    """Column index -> what it holds, from a table's header row."""
    kinds = {}
    for i, h in enumerate(c.strip().lower() for c in header.strip().strip("|").split("|")):
        if "% of teacher" in h:
            kinds[i] = "share"
        elif "micro-auprc" in h:
            kinds[i] = "micro"
        elif "val r²" in h or "val r2" in h:
            kinds[i] = "val_r2"
        elif "val cosine" in h:
            kinds[i] = "val_cosine"
        elif h == "params" or h.startswith("params"):
            kinds[i] = "params"
        elif "flash" in h and "arena" in h and "int8" in h:
            kinds[i] = "flash/arena"
        elif h.startswith("int8 flash") or h == "model flash":
            kinds[i] = "flash"
        elif h.startswith("tflm arena"):
            kinds[i] = "arena"
    return kinds


def _cell_problems(name: str, kind: str, cell: str) -> tuple[set[str], set[str]]:
    """(found, allowed) figures of one table cell of a column of ``kind``."""
    fig = card_figures(name)
    if kind == "micro":
        return set(DEC.findall(cell)), {f"{v:.3f}" for v in (fig["micro_auprc"] or {}).values()
                                        if v is not None}
    if kind in ("val_r2", "val_cosine"):
        return set(DEC.findall(cell)), {f"{fig[kind]:.3f}"}
    if kind == "share":
        return (set(re.findall(r"\d+(?:\.\d)?(?= ?%)", cell)),
                {f"{share_of_teacher(name, 1):g}", f"{share_of_teacher(name):g}"})
    keys = {"params": ["params"], "flash": ["flash_bytes"], "arena": ["arena_bytes"],
            "flash/arena": ["flash_bytes", "arena_bytes"]}[kind]
    return set(INT.findall(cell)), {f"{fig[k]:,}" for k in keys}


def _shipped_name(text: str) -> str | None:
    """The one shipped student ``text`` is about (not a row about an earlier version)."""
    names = set(NAME.findall(text)) & set(SHIPPED)
    return names.pop() if len(names) == 1 and not HISTORY.search(text) else None


def _table_problems(lines: list[str], where: str) -> list[str]:
    problems: list[str] = []
    header = None
    for n, line in enumerate(lines, 1):
        if not line.startswith("|"):
            header = None
            continue
        if header is None or set(line) <= set("|-: "):
            header = header or line
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = _shipped_name(cells[0])
        for i, kind in (_columns(header).items() if name else ()):
            got, want = _cell_problems(name, kind, cells[i]) if i < len(cells) else (set(), set())
            if got - want:
                problems.append(f"{where}:{n}: {name} {kind} {sorted(got - want)} (card: "
                                f"{sorted(want)})")
    return problems


def _prose_problems(lines: list[str], where: str) -> list[str]:
    """Sentences about one shipped student with a score, and listing lines that start with
    its name (``edgesea models`` output in code blocks)."""
    teacher = {f"{teacher_reference()[k]:.3f}" for k in ("fold10_micro_auprc",
                                                          "fold10_macro_auprc",
                                                          "fold10_accuracy")}
    problems: list[str] = []
    for n, line in enumerate(lines, 1):
        if line.startswith("|"):
            continue
        listing = NAME.match(line.strip()) is not None
        for sentence in [line] if listing else re.split(r"(?<=[.;])\s", line):
            name = _shipped_name(sentence)
            if name is None or not (listing or re.search(r"AUPRC|reaches|keeps", sentence)):
                continue
            fig = card_figures(name)
            allowed = _decimals(fig) | teacher | {f"{fig['val_r2']:.3f}"}
            stale = set(DEC.findall(sentence)) - allowed
            if listing:
                stale |= set(INT.findall(sentence)) - {
                    f"{fig[k]:,}" for k in ("params", "flash_bytes", "arena_bytes")}
            if stale:
                problems.append(f"{where}:{n}: {name} {sorted(stale)} not in its card")
    return problems


def stale_figures(text: str, where: str) -> list[str]:
    """Every figure of ``text`` about a shipped student that its card does not record."""
    lines = text.splitlines()
    return _table_problems(lines, where) + _prose_problems(lines, where)


def test_docs_state_the_cards_figures() -> None:
    problems = [p for doc in DOCS for p in stale_figures(doc.read_text(encoding="utf-8"),
                                                          str(doc.relative_to(ROOT)))]
    assert problems == []


def test_a_planted_stale_figure_is_caught() -> None:
    name = "sea_urban_128" if "sea_urban_128" in SHIPPED else SHIPPED[0]
    fig = card_figures(name)
    good = (f"| model | tier | params | int8 flash B | TFLM arena B | fold-10 micro-AUPRC |\n"
            f"|---|---|---|---|---|---|\n| `{name}` | mcu | {fig['params']:,} | "
            f"{fig['flash_bytes']:,} | {fig['arena_bytes']:,} | "
            f"{fig['micro_auprc']['float']:.3f} / {fig['micro_auprc']['int8']:.3f} |\n")
    assert stale_figures(good, "t") == []
    stale = good.replace(f"{fig['micro_auprc']['int8']:.3f}", "0.701")
    assert len(stale_figures(stale, "t")) == 1
    stale = good.replace(f"{fig['flash_bytes']:,}", "141,297")
    assert len(stale_figures(stale, "t")) == 1
    prose = f"The shipped `{name}` reaches 0.699 fold-10 micro-AUPRC.\n"
    assert len(stale_figures(prose, "t")) == 1


def _build_zoo():
    spec = importlib.util.spec_from_file_location("build_zoo", ROOT / "benchmarks" /
                                                  "build_zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_zoo_table_is_generated_from_the_cards() -> None:
    zoo = _build_zoo()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split(zoo.README_BEGIN, 1)[1].split(zoo.README_END, 1)[0].strip()
    assert table.splitlines() == zoo.readme_zoo_table()


def test_messages_read_the_cards() -> None:
    """specialize's advice quoted a stale R² (68 %); the demo a stale share (92 %)."""
    r2 = card_figures("sea_urban_128")["val_r2"]
    advice = " ".join(training_advice({"val_r2": 0.1, "best_epoch": 1, "epochs_run": 5}))
    assert f"the shipped 128-d student: {100 * r2:.0f} %" in advice
    demo = (ROOT / "examples" / "demo.py").read_text()
    assert "share_of_teacher('sea_urban_128')" in demo and "92 %" not in demo


def test_hear_rate_is_the_models() -> None:
    """The README's HEAR section said 8 kHz; the shipped students run at 16 kHz."""
    from edgesea import hear

    model = hear.load_model()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## HEAR", 1)[1].split("\n## ", 1)[0]
    rates = {int(r) * 1000 for r in re.findall(r"(\d+) kHz", section)}
    assert rates == {model.sample_rate, model.model.sample_rate} or rates == {
        model.sample_rate}


def test_setup_text_names_the_extras_make_installs() -> None:
    """The set-up text named extras the Makefile does not install (issue 34)."""
    make = (ROOT / "Makefile").read_text()
    installed = re.search(r'install .*-e "\.\[([a-z,]+)\]"', make)[1].split(",")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    said = re.search(r"`make venv` installs `\[([a-z,]+)\]`", text)
    assert said and said[1].split(",") == installed
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for name in extras:
        assert f"`[{name}]`" in text, f"README does not describe the [{name}] extra"
