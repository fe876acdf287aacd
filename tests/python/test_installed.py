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


def test_the_wheel_is_manylinux2014_with_the_projects_metadata():
    # `make wheel` links against glibc 2.17 (zig), and maturin tags and checks it.
    import email
    import zipfile

    wheels = sorted((ROOT / "target" / "wheels").glob("agentguard-*.whl"))
    assert len(wheels) == 1, wheels
    assert wheels[0].name.endswith("-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"), wheels[0].name
    with zipfile.ZipFile(wheels[0]) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(name))
    assert meta["Requires-Python"] == ">=3.10"
    assert "License :: OSI Approved :: MIT License" in meta.get_all("Classifier")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Repository", "Issues"}, urls
    assert urls["Issues"] == urls["Repository"] + "/issues"
    # The same addresses as the npm package's: Cargo.toml's [workspace.package].
    cargo = (ROOT / "Cargo.toml").read_text(encoding="utf-8")
    assert f'repository = "{urls["Repository"]}"' in cargo
    # Installed from that very wheel: the version it names.
    assert agentguard.__version__ == wheels[0].name.split("-")[1]
