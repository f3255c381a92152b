"""The shape of the package, for the architecture checks: import cycles (function-level imports
counted), the longest modules and functions. Exit 1 if there is a cycle or a unit over its limit.

    python scripts/code_shape.py [--max-module-lines 400] [--max-function-lines 60]
"""

import argparse
import ast
import sys
from pathlib import Path

import grimp

PACKAGE = "resnet_zoo"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def module_cycles() -> list[list[str]]:
    """Strongly connected components of more than one module in the import graph (grimp counts
    imports inside functions too)."""
    graph = grimp.build_graph(PACKAGE, include_external_packages=False)
    modules = sorted(graph.modules)
    edges = {m: set() for m in modules}
    for m in modules:
        for imported in graph.find_modules_directly_imported_by(m):
            # a package's __init__ re-exporting its own modules is not a cycle between rooms
            if not imported.startswith(m + "."):
                edges[m].add(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for m in modules:
        if m not in index:
            visit(m)
    return out


def units() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    modules, functions = [], []
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(ROOT.parent)
        modules.append((len(text.splitlines()), str(rel)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # the body's lines: a signature that the formatter spreads over many lines does not count
                body_lines = node.end_lineno - node.body[0].lineno + 1
                functions.append((body_lines, f"{rel}:{node.lineno} {node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-module-lines", type=int, default=400)
    parser.add_argument("--max-function-lines", type=int, default=60)
    args = parser.parse_args()
    cycles = module_cycles()
    modules, functions = units()
    print(f"import cycles (function-level imports counted): {len(cycles)}")
    for c in cycles:
        print("  " + " -> ".join(c))
    print("longest modules:   " + "; ".join(f"{path} {n}" for n, path in modules[:3]))
    print("longest function bodies: " + "; ".join(f"{where} {n}" for n, where in functions[:3]))
    too_long = [m for m in modules if m[0] > args.max_module_lines] + [
        f for f in functions if f[0] > args.max_function_lines
    ]
    for n, where in too_long:
        print(f"  over the limit: {where} ({n} lines)")
    return 1 if cycles or too_long else 0


if __name__ == "__main__":
    sys.exit(main())
