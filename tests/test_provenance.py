"""The one writer of docs/data tables: a record gen_tables renders, refused when malformed."""

import importlib.util
import json
from pathlib import Path

import pytest

from precond_theory import _provenance as provenance

ROOT = Path(__file__).resolve().parent.parent


def _gen_tables():
    spec = importlib.util.spec_from_file_location("gen_tables", ROOT / "docs" / "gen_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_record_round_trips_through_gen_tables(tmp_path):
    rec = provenance.table("python x.py --json out.json", ["a", "b"], [[1, "2"], [3, "4"]], notes="n",
                           date="2026-01-02", extra_field=5)
    path = provenance.write_table(tmp_path / "sub" / "t.json", rec)
    back = json.loads(path.read_text())
    assert back == rec and back["extra_field"] == 5
    text = _gen_tables().render(back)
    assert "| a | b |" in text and "| 3 | 4 |" in text
    assert "`python x.py --json out.json`" in text and "2026-01-02" in text and "*n*" in text
    assert [p.name for p in path.parent.iterdir()] == ["t.json"]  # no temporary file left


def test_machine_line_names_cores_python_numpy_and_load():
    line = provenance.machine("numba 0.0")
    assert "Python" in line and "numpy" in line and "numba 0.0" in line and "load average" in line
    assert "load average" not in provenance.machine(load=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(command="", columns=["a"], rows=[[1]]), "command"),
    (dict(command="c", columns=["a", "b"], rows=[[1]]), "row 0 has 1 cells for 2 columns"),
    (dict(command="c", columns=["a"], rows=[[1]], date="2026/01/02"), "date"),
    (dict(command="c", columns=["a"], rows=[[1]], machine="m"), "clash"),
])
def test_malformed_table_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        provenance.table(**kwargs)


def test_write_table_refuses_a_record_without_its_fields(tmp_path):
    with pytest.raises(ValueError, match="lacks 'command'"):
        provenance.write_table(tmp_path / "t.json", {"columns": [], "rows": []})
    assert not (tmp_path / "t.json").exists()
