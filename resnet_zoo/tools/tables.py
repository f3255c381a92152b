"""Tables generated from the registry: the README's variant table, plain-text tables for the CLI."""

from collections.abc import Sequence

from ..zoo import model_info


def text_table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def variants_markdown(names: Sequence[str]) -> str:
    """The README's table of variants, generated from the registry."""
    lines = [
        "| name | params (M) | GMACs | input | timm | torchvision | what it is |",
        "|---|---:|---:|---|---|---|---|",
    ]
    for name in names:
        info = model_info(name)
        lines.append(
            f"| `{name}` | {info.params / 1e6:.2f} | {info.gmacs:.2f} | "
            f"{info.input_size[1]}x{info.input_size[2]} | {info.timm_name or '-'} | "
            f"{info.torchvision_name or '-'} | {info.summary} |"
        )
    return "\n".join(lines)
