"""The suite runs against the wheel installed in the venv, typed."""

import sys
from pathlib import Path

import agentguard
from conftest import ROOT


def test_imported_from_the_installed_wheel_not_the_source_tree():
    installed = Path(agentguard.__file__).resolve()
    assert "site-packages" in installed.parts, installed
    assert ROOT / "bindings" not in installed.parents
    assert Path(sys.prefix).resolve() in installed.parents


def test_native_module_is_an_extension_and_types_ship():
    package = Path(agentguard.__file__).parent
    native = agentguard._native.__file__
    assert native.endswith(".so") or native.endswith(".pyd"), native
    assert (package / "py.typed").is_file()
    assert (package / "_native.pyi").is_file()


def test_every_export_is_documented():
    for name in agentguard.__all__:
        obj = getattr(agentguard, name)
        if isinstance(obj, int):
            continue
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"
    for method in ["check", "enforce", "clear_audit", "to_dict", "to_json", "from_dict", "from_json"]:
        assert (getattr(agentguard.Policy, method).__doc__ or "").strip(), method


def test_stubs_name_exactly_the_native_exports():
    import ast

    stub = ast.parse((Path(agentguard.__file__).parent / "_native.pyi").read_text())
    declared = {n.name for n in stub.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    declared |= {n.target.id for n in stub.body if isinstance(n, ast.AnnAssign)}
    runtime = {n for n in vars(agentguard._native) if not n.startswith("_") or n == "__version__"}
    assert declared == runtime
    for cls in stub.body:
        if isinstance(cls, ast.ClassDef):
            members = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
            real = getattr(agentguard._native, cls.name)
            public = {m for m in dir(real) if not m.startswith("_")}
            assert public <= members, (cls.name, public - members)
