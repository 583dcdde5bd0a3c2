"""The build warns, with file and line, about images that have no alt text."""

from __future__ import annotations

from site_checks.alt_text import check_file, find_missing_alt

from tests.site.helpers import build, copy_content, log_text


def test_markdown_images_without_alt_are_found_with_line_numbers():
    text = (
        "Title: Test\n"
        "\n"
        "![A red barn](barn.jpg)\n"
        'Intro ![](first.jpg) and ![ ](second.png "title")\n'
        "\n"
        "![][logo]\n"
        "![Logo][logo]\n"
    )
    found = find_missing_alt(text)
    assert [(f.line, f.snippet, f.kind) for f in found] == [
        (4, "![](first.jpg)", "markdown"),
        (4, '![ ](second.png "title")', "markdown"),
        (6, "![][logo]", "markdown"),
    ]


def test_html_img_without_alt_attribute_is_found_but_empty_alt_is_allowed():
    text = (
        "Para\n"
        '<img src="a.jpg" alt="A kite">\n'
        '<img src="decor.svg" alt="">\n'
        '<figure><img\n  src="b.jpg" width="10"></figure>\n'
        "<IMG SRC=c.jpg>\n"
    )
    found = find_missing_alt(text)
    assert [(f.line, f.kind) for f in found] == [(4, "html"), (6, "html")]
    assert found[0].snippet == '<img src="b.jpg" width="10">'


def test_code_examples_are_not_reported():
    text = "Use `![](x.jpg)` like this:\n\n```\n![](y.jpg)\n<img src=z.jpg>\n```\n![](real.jpg)\n"
    assert [f.line for f in find_missing_alt(text)] == [7]


def test_message_names_file_line_and_fix(tmp_path):
    path = tmp_path / "post.md"
    path.write_text("Title: x\n\n![](photo.jpg)\n")
    (finding,) = check_file(path)
    message = finding.describe("content/articles/post.md")
    assert message.startswith("content/articles/post.md:3: image without alt text: ![](photo.jpg)")
    assert "describe the picture inside the brackets" in message
    assert check_file(tmp_path / "photo.jpg") == []


def test_build_warns_about_the_file_and_line(tmp_path):
    content = copy_content(tmp_path)
    (content / "articles" / "zz-missing-alt.md").write_text(
        "Title: Missing alt text\n"
        "Date: 2026-05-01\n"
        "Category: News\n"
        "\n"
        "A paragraph.\n"
        "\n"
        "![](../images/illustrations/robot.svg)\n"
        "\n"
        '<img src="../images/illustrations/snow-day.svg">\n'
    )
    proc = build(tmp_path / "output", content=content)
    log = log_text(proc)
    assert (
        "content/articles/zz-missing-alt.md:7: image without alt text: "
        "![](../images/illustrations/robot.svg)"
    ) in log
    assert "content/articles/zz-missing-alt.md:9: image without alt text:" in log
    # The sample content itself has none.
    assert log.count("image without alt text") == 2
