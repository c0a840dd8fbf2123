from pathlib import Path

from domain.priority import markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "priority-matrix.md"


def test_documented_matrix_is_the_code_default() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text.endswith(markdown_table()), "regenerate docs/priority-matrix.md from markdown_table()"
