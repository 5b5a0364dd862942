"""Small HTML helpers for the report pages: escaping, number formats, tables, KPI cards,
the page shell with its inline stylesheet. Every piece of text goes through :func:`esc`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from html import escape

__all__ = [
    "esc",
    "fmt_money",
    "fmt_percent",
    "fmt_rate",
    "fmt_ratio",
    "fmt_profit_factor",
    "fmt_plain",
    "fmt_int",
    "fmt_ms",
    "Cell",
    "table",
    "signed_css",
    "kpi_grid",
    "badge",
    "section",
    "page",
    "GREEN",
    "RED",
    "BLUE",
    "ORANGE",
    "GREY",
]

GREEN = "#1a7f37"
RED = "#cf222e"
BLUE = "#0969da"
ORANGE = "#bc4c00"
GREY = "#8c959f"
_DASH = "—"

_STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0;padding:24px 32px;color:#1f2328;background:#f6f8fa;font-size:14px;line-height:1.45}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:1px solid
#d0d7de;padding-bottom:4px}h3{font-size:16px;margin:18px 0 8px}
.sub{color:#59636e;margin:0 0 12px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;
font-size:13px;vertical-align:middle}
.b-pass{background:#1a7f37}.b-fail{background:#cf222e}.b-warn{background:#bc4c00}
.b-skip{background:#8c959f}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;
margin:8px 0 12px}
.kpi{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 12px}
.kpi .label{color:#59636e;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.kpi .value{font-size:20px;font-weight:600;margin-top:2px;white-space:nowrap}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{background:#ffebe9}tr.skipped td{color:#59636e}
.pos{color:#1a7f37}.neg{color:#cf222e}
pre{white-space:pre-wrap;word-break:break-word;margin:4px 0 0;font-size:12px;background:#f6f8fa;
padding:6px;border-radius:4px;max-width:900px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.scroll{overflow-x:auto;max-width:100%}td.time{white-space:nowrap}
svg.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;max-width:100%;height:auto}
svg .grid{stroke:#eaeef2;stroke-width:1}svg .axis{stroke:#8c959f;stroke-width:1}
svg .tick{font-size:11px;fill:#59636e}svg .chart-title{font-size:13px;font-weight:600;
fill:#1f2328}svg .legend{font-size:12px}svg .no-data{font-size:14px;fill:#8c959f;
text-anchor:middle}
.note{color:#59636e;font-size:12px}
footer{margin-top:32px;color:#59636e;font-size:12px}
"""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def _q(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def fmt_money(value: Decimal | None) -> str:
    """Two decimals with thousands separators; tiny non-zero amounts keep 6 significant digits."""
    if value is None:
        return _DASH
    if value != 0 and abs(value) < Decimal("0.01"):
        return f"{value:.6g}"
    return f"{_q(value, 2):,.2f}"


def fmt_percent(value: Decimal | None) -> str:
    """A value already in percent."""
    return _DASH if value is None else f"{_q(value, 2):,.2f}%"


def fmt_rate(value: Decimal | None) -> str:
    """A 0..1 fraction shown as a percentage."""
    return _DASH if value is None else f"{_q(value * 100, 2):,.2f}%"


def fmt_ratio(value: Decimal | None) -> str:
    return _DASH if value is None else f"{_q(value, 2):,.2f}"


def fmt_profit_factor(value: Decimal | None) -> str:
    """Profit factor; undefined (null in the JSON) when no trade lost."""
    return "— (no losses)" if value is None else fmt_ratio(value)


def fmt_plain(value: object) -> str:
    if value is None:
        return _DASH
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def fmt_int(value: int | None) -> str:
    return _DASH if value is None else f"{value:,}"


def fmt_ms(value: int | None) -> str:
    return _DASH if value is None else f"{value:,} ms"


class Cell:
    """A table cell: text (escaped), right-aligned when numeric, optional CSS class."""

    __slots__ = ("css", "numeric", "raw_html", "text")

    def __init__(
        self, text: object, *, numeric: bool = False, css: str = "", raw_html: str = ""
    ) -> None:
        self.text = text
        self.numeric = numeric
        self.css = css
        self.raw_html = raw_html  # already-escaped markup appended after the text

    def render(self) -> str:
        classes = " ".join(c for c in ("num" if self.numeric else "", self.css) if c)
        attr = f' class="{classes}"' if classes else ""
        return f"<td{attr}>{esc(self.text)}{self.raw_html}</td>"


def signed_css(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "pos" if value > 0 else "neg"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | object]],
    *,
    row_classes: Sequence[str] | None = None,
    table_id: str = "",
) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = row_classes[index] if row_classes else ""
        cells = "".join(c.render() if isinstance(c, Cell) else Cell(c).render() for c in row)
        body.append(f'<tr class="{esc(css)}">{cells}</tr>' if css else f"<tr>{cells}</tr>")
    attr = f' id="{esc(table_id)}"' if table_id else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def kpi_grid(items: Sequence[tuple[str, str, str]]) -> str:
    """Cards of (key, label, value); ``data-kpi`` carries the key for checks."""
    cards = "".join(
        f'<div class="kpi" data-kpi="{esc(key)}"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div></div>'
        for key, label, value in items
    )
    return f'<div class="kpis">{cards}</div>'


_BADGES = {
    "SUCCESS": "b-pass",
    "passed": "b-pass",
    "complete": "b-pass",
    "PARTIAL": "b-warn",
    "FAILURE": "b-fail",
    "failed": "b-fail",
    "skipped": "b-skip",
    "not_run": "b-skip",
}


def badge(status: str) -> str:
    return f'<span class="badge {_BADGES.get(status, "b-skip")}">{esc(status)}</span>'


def section(section_id: str, title: str, *parts: str) -> str:
    return f'<section id="{esc(section_id)}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def page(title: str, body: str) -> str:
    """The whole document: one file, inline CSS, and a CSP that forbids loading anything."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
