from typer.testing import CliRunner

from herokustack.cli import app


def test_help_lists_the_tool() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "stack files" in result.output
