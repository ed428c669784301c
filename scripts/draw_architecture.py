"""Draw the package's layer map from the code itself: docs/architecture.png and its table.

The layers are those of the import-linter contract in ``pyproject.toml`` (the contract that
``make lint`` checks); the arrows are the imports between the packages, read from the source by
grimp (import-linter's graph library). The table of packages in ``docs/architecture.md``, between
its ``<!-- layers -->`` markers, is rewritten from the same data, with each package's module
count. Run it after moving a package; ``tests/test_architecture.py`` fails while the page is stale.

Usage: python scripts/draw_architecture.py [--check]
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
FIGURE = ROOT / "docs" / "architecture.png"
START, END = "<!-- layers -->", "<!-- /layers -->"


def contract_layers(pyproject: Path = ROOT / "pyproject.toml") -> list[list[str]]:
    """Return the layers of the layers contract, top first, each a list of package names."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    return [[name.strip() for name in layer.replace(":", "|").split("|")] for layer in contract["layers"]]


def package_imports(package: str = "deepshadows") -> Counter[tuple[str, str]]:
    """Count the imports from one top-level package (or module) of ``package`` to another."""
    import grimp

    graph = grimp.build_graph(package, cache_dir=None, exclude_type_checking_imports=True)
    edges: Counter[tuple[str, str]] = Counter()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            src, dst = _top(module, package), _top(imported, package)
            if src and dst and src != dst:
                edges[src, dst] += 1
    return edges


def _top(module: str, package: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == package and len(parts) > 1 else None


def module_counts(src: Path = ROOT / "src" / "deepshadows") -> dict[str, int]:
    """Return the number of modules of each top-level package (1 for a plain module)."""
    counts = {}
    for path in src.iterdir():
        if path.is_dir() and (path / "__init__.py").is_file():
            counts[path.name] = sum(1 for _ in path.rglob("*.py"))
        elif path.suffix == ".py" and path.stem != "__init__":
            counts[path.stem] = 1
    return counts


def layer_table(layers: list[list[str]], counts: dict[str, int]) -> str:
    """Return the Markdown table of the layers, top first, with module counts."""
    rows = ["| layer | packages (modules) |", "|---|---|"]
    for depth, layer in enumerate(layers, start=1):
        names = ", ".join(f"`{name}` ({counts.get(name, 0)})" for name in layer)
        rows.append(f"| {depth} | {names} |")
    return "\n".join(rows)


def draw(layers: list[list[str]], edges: Counter[tuple[str, str]], path: Path) -> None:
    """Draw the layers as rows of boxes, top first, with an arrow per importing pair.

    Imports of the basics (the last three layers), which nearly every package makes, are left
    out of the arrows so that the others can be read.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    position: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        for col, name in enumerate(layer):
            position[name] = ((col + 0.5) / len(layer), -row)
    fig, ax = plt.subplots(figsize=(13, 0.62 * len(layers) + 1))
    basics = {name for layer in layers[-3:] for name in layer}
    for (src, dst), n in edges.items():
        if src in position and dst in position and dst not in basics:
            (x0, y0), (x1, y1) = position[src], position[dst]
            ax.annotate(
                "",
                xy=(x1, y1 + 0.18),
                xytext=(x0, y0 - 0.18),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": "0.55",
                    "alpha": 0.35,
                    "lw": 0.4 + 0.15 * min(n, 8),
                },
            )
    for name, (x, y) in position.items():
        ax.text(
            x,
            y,
            name,
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.3", "fc": "#e8f0fb", "ec": "#3b6fb6", "lw": 0.8},
        )
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-len(layers) + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(
        "deepshadows: packages by layer, imports pointing down\n"
        "(drawn from the code; imports of the basics not drawn)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def updated_page(page: str, table: str) -> str:
    """Return the architecture page with its layer table replaced by ``table``."""
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Redraw the figure and the table, or with ``--check`` say whether the table is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the page's table is current")
    args = parser.parse_args(argv)
    layers = contract_layers()
    page = DOC.read_text(encoding="utf-8")
    new_page = updated_page(page, layer_table(layers, module_counts()))
    if args.check:
        if new_page != page:
            print(f"{DOC.name} is stale: run python scripts/draw_architecture.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new_page, encoding="utf-8")
    draw(layers, package_imports(), FIGURE)
    print(f"wrote {FIGURE.relative_to(ROOT)} and the table of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
