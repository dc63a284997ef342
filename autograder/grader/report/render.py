"""Render the static pages (feedback, dashboards) from plain data with Jinja2 templates.

Everything a page needs is inline (CSS, images as data URIs, plots as SVG), so a page
opens from the file system with no server, no network and no JavaScript. Helpers here
keep pages small: text is cut before it is shown, images are downscaled, maths becomes
plain text at build time.
"""
from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
MAX_TEXT = 3000        # characters of one output shown
MAX_LINES = 40         # lines of one output shown
MAX_IMAGE_PX = 640     # longest side of an embedded figure
SMALL_IMAGE_BYTES = 60_000  # a figure larger than this is downscaled and re-encoded
MAX_IMAGE_BYTES = 300_000  # an image larger than this (after downscaling) is left out

_env = None


def environment() -> jinja2.Environment:
    global _env
    if _env is None:
        _env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                  autoescape=True, trim_blocks=True, lstrip_blocks=True)
        _env.filters["maths"] = maths_html
        _env.filters["points"] = points
    return _env


def write_page(template: str, model, out: Path) -> Path:
    """Render ``template`` with ``model`` (a dataclass or dict, as ``page``) into ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(environment().get_template(template).render(page=model), encoding="utf-8")
    return out


def points(value) -> str:
    """A score as people write it: 7, 5.5, 33.86 (at most two decimals)."""
    return f"{round(float(value), 2):g}"


def cut(text: str, limit: int = MAX_TEXT, lines: int = MAX_LINES, total: int = 0) -> str:
    """At most ``limit`` characters and ``lines`` lines of ``text`` (the start of a text
    of ``total`` characters), saying what was cut."""
    total = max(total, len(text))
    short = "\n".join(text[:limit].split("\n")[:lines])
    if len(short) < total:
        short += f"\n[... {total - len(short):,} more characters not shown]"
    return short


# ------------------------------------------------------------------ maths

SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "Sigma": "Σ", "tau": "τ",
    "phi": "φ", "pi": "π", "rho": "ρ", "omega": "ω", "Delta": "Δ", "nabla": "∇",
    "partial": "∂", "sum": "Σ", "prod": "Π", "cdot": "·", "times": "×", "le": "≤",
    "leq": "≤", "ge": "≥", "geq": "≥", "neq": "≠", "approx": "≈", "infty": "∞",
    "in": "∈", "to": "→", "rightarrow": "→", "odot": "⊙", "top": "ᵀ", "log": "log",
    "exp": "exp", "max": "max", "min": "min", "quad": " ", "left": "", "right": "",
}
_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_STYLE = re.compile(r"\\(?:mathbf|mathrm|boldsymbol|text|operatorname|mathcal|hat|bar)\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_MATHS = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)


def latex_text(latex: str) -> str:
    """Simple LaTeX as readable plain text: ``\\frac{a}{b}`` -> ``(a)/(b)``, ``\\alpha`` -> α."""
    text = latex
    for _ in range(3):  # nested \frac and \mathbf, a few levels deep
        text = _STYLE.sub(r"\1", _FRAC.sub(r"(\1)/(\2)", text))
    text = _COMMAND.sub(lambda m: SYMBOLS.get(m.group(1), m.group(1)), text)
    text = text.replace("\\\\", " ").replace("\\,", " ").replace("\\;", " ")
    text = re.sub(r"([_^])\{([^{}]*)\}", r"\1\2", text).replace("{", "").replace("}", "")
    return " ".join(text.split())


def maths_html(text: str) -> str:
    """Escaped text whose ``$...$`` and ``$$...$$`` maths is shown as plain-text code;
    paragraphs (blank lines) become ``<p>``. Returns markup safe to insert."""
    from markupsafe import Markup

    def one(part: str) -> str:
        pieces, last = [], 0
        for m in _MATHS.finditer(part):
            pieces.append(html.escape(part[last:m.start()]))
            display = m.group(1) is not None
            pieces.append(f"<code class=\"{'maths display' if display else 'maths'}\">"
                          f"{html.escape(latex_text(m.group(1) or m.group(2)))}</code>")
            last = m.end()
        pieces.append(html.escape(part[last:]))
        return "".join(pieces)

    paragraphs = [p for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    return Markup("".join(f"<p>{one(p)}</p>" for p in paragraphs))


# ------------------------------------------------------------------ figures

def png_data_uri(data: str) -> str | None:
    """A notebook's base64 PNG, downscaled to MAX_IMAGE_PX, as a data URI (None if it
    cannot be read or stays too large)."""
    from PIL import Image

    try:
        raw = base64.b64decode("".join(data.split()), validate=False)
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            if max(image.size) > MAX_IMAGE_PX or len(raw) > SMALL_IMAGE_BYTES:
                image.thumbnail((MAX_IMAGE_PX, MAX_IMAGE_PX))
                buffer = io.BytesIO()  # a plot needs no more than 256 colours
                image.convert("RGB").quantize(256).save(buffer, "PNG", optimize=True)
                raw = buffer.getvalue()
    except Exception:  # noqa: BLE001 (a broken image is the notebook's)
        return None
    if len(raw) > MAX_IMAGE_BYTES:
        return None
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def svg_data_uri(figure) -> str:
    """A matplotlib figure as a small SVG data URI (closes the figure)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue().encode()).decode()


def histogram(scores: list[float], maximum: float, title: str) -> str:
    """A histogram of scores out of ``maximum``, as an SVG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 2.4))
    bins = max(1, min(20, int(maximum) or 1))
    axes.hist(scores, bins=bins, range=(0, maximum or 1), color="#4a6fa5", edgecolor="white")
    axes.set_xlabel("score")
    axes.set_ylabel("students")
    axes.set_title(title, fontsize=10)
    axes.yaxis.get_major_locator().set_params(integer=True)
    return svg_data_uri(figure)
