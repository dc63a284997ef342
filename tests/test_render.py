"""The page helpers: maths as plain text, cut outputs, downscaled figures (no browser)."""
import base64
import io

from autograder.grader.report import render
from autograder.grader.report.work import clean


def test_latex_becomes_readable_text_without_dollars_or_backslashes():
    html = render.maths_html(r"The loss is $$\mathbf{L} = \frac{1}{N}\sum_i \ell_i$$ and "
                             r"$\alpha \le 1$.")
    assert "$" not in html and "\\" not in html
    assert '<code class="maths display">L = (1)/(N)Σ_i ell_i</code>' in html
    assert '<code class="maths">α ≤ 1</code>' in html


def test_written_answers_are_escaped_not_rendered_as_html():
    html = render.maths_html("<img src=http://example.com/x.png> a < b\n\nsecond")
    assert "<img" not in html and "&lt;img" in html
    assert html.count("<p>") == 2


def test_a_huge_output_is_cut_before_it_is_read_whole():
    text = clean(["line\n"] * 10_000_000, hidden=[])
    assert len(text) < render.MAX_TEXT + 100
    assert "more characters not shown" in text and "49,999,8" in text


def test_hidden_test_lines_are_removed_from_outputs():
    secret = "checks.check_values(double, 'double', shape=(3, 5), seed=12)"
    assert secret not in clean(f"Traceback: {secret}\n", hidden=[secret])


def test_large_figures_are_downscaled():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2000, 1000), "white").save(buffer, "PNG")
    uri = render.png_data_uri(base64.b64encode(buffer.getvalue()).decode())
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as image:
        assert image.size == (render.MAX_IMAGE_PX, render.MAX_IMAGE_PX // 2)
    assert render.png_data_uri("not an image") is None
