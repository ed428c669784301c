"""``deepshadows report`` on the command line: output, one-line errors and exit codes."""

from __future__ import annotations

import pytest

from deepshadows.cli.main import cli, main
from deepshadows.cli.report import report_command


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """Register the command on the main group as the package does, for this test only."""
    monkeypatch.setitem(cli.commands, "report", report_command)


def test_report_writes_the_page(tmp_path, outputs, capsys):
    out = tmp_path / "report.html"
    code = main(
        [
            "report",
            str(outputs / "runs" / "comparison"),
            str(outputs / "misc"),
            "--out",
            str(out),
            "--title",
            "T",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} (")
    page = out.read_text(encoding="utf-8")
    assert "<title>T</title>" in page and "Model comparison: comparison" in page and "Figures: misc" in page


def test_missing_path_is_one_line_and_status_1(tmp_path, capsys):
    code = main(["report", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"error: {tmp_path / 'nowhere'}: no such file or folder\n"
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("args", [["report", "--out", "r.html"], ["report", "somewhere"]])
def test_usage_errors_exit_2(args, capsys):
    assert main(args) == 2
    assert "Usage" in capsys.readouterr().err


def test_help(capsys):
    assert main(["report", "--help"]) == 0
    assert "--title" in capsys.readouterr().out
