"""The HTML page: escaping, self-containment, table of contents, versions and atomic writing."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from deepshadows.errors import InputError
from deepshadows.report import Section, build_report, write_report
from deepshadows.report.render import versions_table


class Collector(HTMLParser):
    """Gather tags with their attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Collector:
    collector = Collector()
    collector.feed(page)
    return collector


@pytest.fixture(scope="module")
def page(outputs) -> str:
    return build_report([outputs], title="Test <report>")


def test_page_is_self_contained(page):
    tags = parse(page).tags
    sources = [attrs["src"] for tag, attrs in tags if "src" in attrs]
    assert len(sources) >= 20 and all(src.startswith("data:image/png;base64,") for src in sources)
    links = [attrs["href"] for tag, attrs in tags if "href" in attrs]
    assert all(href.startswith(("#", "data:")) for href in links)
    assert not any(tag in ("script", "iframe", "object", "embed") for tag, _ in tags)
    for needle in ('src="http', "src='http", 'src="file:', 'href="http', "url(", "@import"):
        assert needle not in page
    csp = next(
        attrs["content"] for tag, attrs in tags if attrs.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in csp


def test_contents_link_every_section(page, outputs):
    tags = parse(page).tags
    ids = {attrs["id"] for _, attrs in tags if "id" in attrs}
    links = {attrs["href"][1:] for _, attrs in tags if attrs.get("href", "").startswith("#")}
    assert links <= ids
    sections = [attrs["id"] for tag, attrs in tags if tag == "section" and attrs.get("class") == "run"]
    assert len(sections) == 15 and set(sections) <= links
    text = "".join(parse(page).text)
    assert f"Training run: {outputs.name}/runs/train" in text and "Configuration and versions" in text
    assert str(outputs / "runs" / "train") in text


def test_text_from_files_is_escaped(tmp_path, outputs, copy_of):
    evaluation = copy_of(outputs / "runs" / "train" / "evaluation_test")
    metrics = json.loads((evaluation / "metrics.json").read_text())
    metrics["name"] = "<img src=x onerror=alert(1)>"
    metrics["extra"] = {"note": "</td></table><script>alert(2)</script>"}
    (evaluation / "metrics.json").write_text(json.dumps(metrics))
    odd = evaluation.rename(tmp_path / "a&b <i>")
    page = build_report([odd], title="<b>bold</b>")
    assert "<img src=x" not in page and "<script>" not in page and "<b>bold" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/td&gt;&lt;/table&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "Evaluation: a&amp;b &lt;i&gt;" in page
    assert "<title>&lt;b&gt;bold&lt;/b&gt;</title>" in page
    assert not any(tag in ("script", "i") for tag, _ in parse(page).tags)


def test_warnings_are_shown_in_the_page(copy_of, outputs):
    folder = copy_of(outputs / "runs" / "train")
    (folder / "config.json").write_text("{oops")
    page = build_report([folder])
    assert 'class="warnings"' in page and "config.json: not valid JSON" in page
    assert "Problems found while reading" in page


def test_versions_table_flags_other_versions():
    sections = [
        Section("training run", "run a", recorded={"versions": {"numpy": "2.0", "torch": "2.13"}}),
        Section("training run", "run b", recorded={"versions": {"numpy": "2.0", "torch": "2.13"}}),
        Section("evaluation", "run c", recorded={"versions": {"numpy": "1.26", "extra": "1"}}),
        Section("evaluation", "no record"),
    ]
    table = versions_table({"numpy": "2.0", "torch": "2.13"}, sections)
    assert table.columns == ["package", "this report", "recorded by run a; run b", "recorded by run c"]
    assert table.rows == [
        ["numpy", "2.0", "2.0", "1.26"],
        ["torch", "2.13", "2.13", "–"],
        ["extra", "–", "–", "1"],
    ]
    assert table.flagged == [True, False, True]


def test_write_report_is_atomic_and_checks_out(tmp_path, outputs):
    out = tmp_path / "reports" / "report.html"
    assert write_report([outputs / "data"], out) == out
    first = out.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>") and "Data set summary: data/des_summary" in first
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    write_report([outputs / "predictions.csv"], out, title="again")
    assert "<title>again</title>" in out.read_text(encoding="utf-8")
    with pytest.raises(InputError, match="is a folder"):
        write_report([outputs], tmp_path)
    with pytest.raises(InputError, match="missing: no such file or folder"):
        write_report([tmp_path / "missing"], out)
    assert "<title>again</title>" in out.read_text(encoding="utf-8")
