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


def test_the_feedback_rubric_says_graded_by_hand_with_the_points_of_each_manual_item(tmp_path):
    """A figure's or written answer's mark is a person's: its rubric row says "graded by
    hand" with its points, pending or given, and is never shown as passed by the grader."""
    import html
    import re

    from autograder.grader.record.gradebook import Item
    from autograder.grader.report.feedback import FeedbackPage, rubric_row

    items = [Item("a1", "test_relu", "autograded test", 2.0, 2.0, False),
             Item("a1", "figure_losses_answer", "manual answer", None, 1.0, True),
             Item("a1", "confusion_answer", "manual answer", 0.5, 1.0, False)]
    rows = [rubric_row(item, None, "") for item in items]
    page = FeedbackPage("a1", "ada", 2.0, 2.0, 0.5, 1.0, 1.0, "", rows, [], [], [], [])
    text = render.write_page("feedback.html.j2", page, tmp_path / "feedback.html").read_text()

    def row(name):
        found = re.search(rf'<tr class="rubric-row" id="cell-{name}".*?</tr>', text, re.S)
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())

    assert "to be graded by hand" in row("figure_losses_answer")
    assert "0 / 1" in row("figure_losses_answer") and "a person grades this" in row(
        "figure_losses_answer")
    assert "graded by hand" in row("confusion_answer") and "0.5 / 1" in row("confusion_answer")
    assert "graded by hand" not in row("test_relu") and "passed" in row("test_relu")
    assert "1 more points are graded by hand" in " ".join(text.split())
