"""The command line is consistent: one version, snake_case names, listings, LaTeX that compiles,
escaped markup, and unwrapped output when stdout is not a terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from precond_theory import problems, rules
from precond_theory.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def cli_piped(*args: str) -> str:
    """Run ``precond-theory ARGS`` in a subprocess whose stdout is a pipe (as ``| cat``)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               COLUMNS="", LINES="")
    env.pop("COLUMNS"), env.pop("LINES")
    proc = subprocess.run([sys.executable, "-m", "precond_theory", *args], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# --------------------------------------------------------------------------------- version
def test_version_is_the_one_pyproject_declares():
    import ast
    import importlib.metadata
    import tomllib

    from precond_theory import __version__
    from precond_theory._version import __version__ as source

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cfg["project"]["dynamic"] == ["version"] and "version" not in cfg["project"]
    assert cfg["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "precond_theory._version.__version__"}
    tree = ast.parse((ROOT / "precond_theory" / "_version.py").read_text())
    declared = next(n.value.value for n in tree.body if isinstance(n, ast.Assign)
                    and any(getattr(t, "id", None) == "__version__" for t in n.targets))
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"precond-theory {declared}"
    assert __version__ == source == declared
    try:  # the installed distribution reports the same version (when the package is installed)
        assert importlib.metadata.version("precond-theory") == declared
    except importlib.metadata.PackageNotFoundError:
        pass


# ------------------------------------------------------------------------ unwrapped listings
def test_rules_piped_prints_one_unwrapped_line_per_rule():
    lines = cli_piped("rules").splitlines()
    names = rules.available()
    assert len(lines) == 1 + len(names), lines[:3]
    assert lines[0].split() == ["name", "class", "fidelity", "reference"]
    for name, line in zip(names, lines[1:]):
        cls = rules.get(name)
        assert line.split()[:3] == [name, cls.__name__, cls.fidelity.upper()]
        assert line.endswith(cls.reference), f"reference of {name} is cut or wrapped: {line!r}"
    assert not any(c in "".join(lines) for c in "┃│┏━"), "box drawing in piped output"


def test_check_list_piped_keeps_each_claim_on_one_line():
    from precond_theory.claims import catalog

    out = cli_piped("check", "--list")
    for name, claim in catalog().items():
        rows = [ln for ln in out.splitlines() if ln.strip("│┃ ").split(" ")[:1] == [name]]
        assert len(rows) == 1 and claim.source in rows[0], f"claim {name} wrapped or missing"


def test_problems_lists_every_problem_with_its_constants():
    out = cli_piped("problems").splitlines()
    names = problems.available()
    assert len(out) == 1 + len(names)
    rows = {ln.split()[0]: ln for ln in out[1:]}
    assert sorted(rows) == names
    q = problems.make("quadratic")  # independent: the object itself
    cells = rows["quadratic"].split("  ")
    cells = [c.strip() for c in cells if c.strip()]
    assert cells[0] == "quadratic" and "kappa=100.0" in cells[1]
    assert cells[2:6] == [str(q.dim), f"{q.L:.6g}", f"{q.mu:.6g}", f"{q.f_star:.6g}"]
    ros = rows["rosenbrock"]
    assert ros.rstrip().endswith("[1, 1]") and "a=1.0, b=100.0" in ros


def test_problems_one_problem_and_an_unknown_one():
    out = runner.invoke(app, ["problems", "rosenbrock"])
    assert out.exit_code == 0 and "[1, 1]" in out.output
    bad = runner.invoke(app, ["problems", "rosenbrok"])
    assert bad.exit_code == 2
    assert bad.output.strip() == ("error: unknown problem 'rosenbrok'; did you mean 'rosenbrock'? "
                                  "(precond-theory problems lists them)")


# ------------------------------------------------------------------------------ snake_case
def test_every_name_on_the_command_line_is_snake_case():
    import proofs_checks as pc
    from precond_theory.claims import catalog

    for kind, names in (("rule", rules.available()), ("problem", problems.available()),
                        ("derivation", pc.known_names()), ("claim", list(catalog()))):
        bad = [n for n in names if n != n.lower() or "-" in n or " " in n]
        assert not bad, f"{kind} names not snake_case: {bad}"


def test_derive_list_names_every_derivation_once():
    import proofs_checks as pc

    result = runner.invoke(app, ["derive", "--list"])
    assert result.exit_code == 0, result.output
    listed = [ln.split()[0] for ln in result.output.splitlines() if ln.strip()]
    assert listed == sorted(pc.available_checks()) + rules.available()
    assert "check (quadratic)" in result.output and "rule (RECON)" in result.output


@pytest.mark.parametrize("args", [["derive"], ["derive", "--list", "adam"], ["derive", "adam", "--latex", "--markdown"]])
def test_derive_refuses_inconsistent_arguments(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and result.output.startswith("error: ")
    assert result.output.count("\n") == 1


def test_derive_old_kebab_name_still_works():
    result = runner.invoke(app, ["derive", "ravine-nesterov"])
    assert result.exit_code == 0
    assert "ravine_nesterov: " in result.output


# ------------------------------------------------------------------------------------ LaTeX
#: derivations whose symbols are Unicode in the terminal (hats, Greek, Δx, ℓ̂, superscripts)
LATEX_CASES = ["soaa", "adapgradm", "lion", "gradient_regularization_intrinsic", "adam_efficient_epsilon",
               "heavy_ball_quadratic"]


@pytest.mark.parametrize("name", LATEX_CASES)
def test_derive_latex_is_ascii_with_hat_forms(name):
    result = runner.invoke(app, ["derive", name, "--latex"])
    assert result.exit_code == 0, result.output
    tex = result.output
    assert tex.isascii(), sorted({c for c in tex if not c.isascii()})
    assert tex.startswith("\\documentclass") and "\\end{document}" in tex
    if name == "soaa":
        assert "\\hat{m}" in tex and "\\hat{v}" in tex and "\\Delta" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex on this machine (ASCII checked above)")
@pytest.mark.parametrize("name", LATEX_CASES[:3])
def test_derive_latex_compiles_with_pdflatex(name, tmp_path):
    tex = runner.invoke(app, ["derive", name, "--latex"]).output
    (tmp_path / "d.tex").write_text(tex)
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "d.pdf").stat().st_size > 0


def test_tex_conversion_refuses_unknown_characters():
    from proofs_checks._tex import tex_math, tex_text

    assert tex_math("m̂ + Δx ≤ β₁") == "\\hat{m} + \\Delta x \\leq  \\beta _{1}"
    assert tex_text("loss_order 50% β₁") == "loss\\_order 50\\% $\\beta _{1}$"
    with pytest.raises(ValueError, match="U\\+2603"):
        tex_math("☃")


def test_derive_text_shows_every_residual():
    result = runner.invoke(app, ["derive", "adam_bias_correction"])
    assert result.exit_code == 0
    assert "(see above)" not in result.output
    # a residual whose pretty form spans several lines is printed under its label
    block = result.output.split("summation and recurrence agree:")[1].split("✓")[0]
    assert "β" in block and "γ" in block


# ------------------------------------------------------------------------- markup and errors
def test_fail_prints_brackets_literally():
    import typer

    from precond_theory.cli._app import fail

    probe = typer.Typer()

    @probe.command()
    def go() -> None:
        fail("add a [name.setup] table and [bold]x[/bold]")

    result = runner.invoke(probe, [])
    assert result.exit_code == 2
    assert result.output == "error: add a [name.setup] table and [bold]x[/bold]\n"


def test_check_error_keeps_the_table_name(tmp_path):
    claim = tmp_path / "c.toml"
    claim.write_text('[my_claim]\nmetric = "f_gap"\norder = -1.0\nkind = "rate"\n'
                     'source = "test"\nstatement = "s"\n')
    result = runner.invoke(app, ["check", "--file", str(claim)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert "[my_claim.setup]" in result.output


def test_run_prints_bracketed_paths_literally(tmp_path):
    """User text (names, paths) inside Rich output keeps its brackets."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('name = "tiny"\nsteps = 5\nseeds = [0]\nrecord = 5\n'
                   '[problem]\nname = "quadratic"\ndim = 2\nkappa = 4.0\n'
                   '[[rules]]\nname = "sgd"\nlr = 0.1\n')
    out = tmp_path / "[bold]out"
    result = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"table:  {out / 'tiny' / 'table.parquet'}" in result.output
