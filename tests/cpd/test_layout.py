"""The card's top-level folders are the ``cpd.*`` packages, and an installation has them all."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.cpd.test_architecture import ROOT, built_copy

CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = CONFIG["tool"]["setuptools"]
FOLDERS = {"cpd", "bot", "claims", "mail_ingest", "nlp", "rules", "storage", "web"}


def _folder_of(package: str) -> Path:
    """Where ``package`` lives in the repository, by the ``package-dir`` mapping."""
    mapping = SETUPTOOLS["package-dir"]
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in mapping:
            return ROOT / mapping[head] / Path(*parts[cut:])
    raise AssertionError(f"{package} has no folder")


def test_each_product_folder_is_a_mapped_cpd_package() -> None:
    mapped = set(SETUPTOOLS["package-dir"].values())
    assert mapped == FOLDERS
    for folder in FOLDERS:
        assert (ROOT / folder / "__init__.py").is_file(), folder
    assert not (ROOT / "src").exists(), "the folders are at the top level now"


def test_every_python_package_folder_is_listed() -> None:
    """A new subpackage must be listed in ``packages`` or it would be left out of a wheel."""
    listed = set(SETUPTOOLS["packages"])
    assert {_folder_of(p) for p in listed} == {
        path.parent
        for folder in FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
        and not {"model", "corpus", "templates", "static"} & set(path.relative_to(ROOT).parts)
    }


def test_the_contracts_name_every_module_of_the_cpd_folder() -> None:
    """The app modules (``cpd/*.py``) are forbidden to the leaves by name: none left out."""
    modules = {f"cpd.{p.stem}" for p in (ROOT / "cpd").glob("*.py") if p.stem != "__init__"}
    for contract in CONFIG["tool"]["importlinter"]["contracts"]:
        forbidden = set(contract.get("forbidden_modules", ()))
        if "cpd.cli" in forbidden:
            assert modules <= forbidden, (contract["name"], modules - forbidden)


def test_an_installed_copy_has_code_and_data(tmp_path: Path) -> None:
    """What a non-editable install gets: every migration, scheme file, template and the model."""
    copy = built_copy(tmp_path / "installed") / "cpd"
    versions = sorted(p.name for p in (copy / "storage" / "migrations" / "versions").glob("*.py"))
    assert versions == sorted(
        p.name for p in (ROOT / "storage" / "migrations" / "versions").glob("*.py")
    )
    assert (copy / "storage" / "migrations" / "env.py").is_file()
    assert (copy / "storage" / "migrations" / "script.py.mako").is_file()
    assert {p.name for p in (copy / "rules" / "schemes").glob("*.yaml")} == {
        p.name for p in (ROOT / "rules" / "schemes").glob("*.yaml")
    }
    assert (copy / "nlp" / "model" / "meta.json").is_file()
    assert list((copy / "web" / "templates").glob("*.html"))
    assert list((copy / "web" / "static").glob("htmx-*.min.js"))
    assert (copy / "cli.py").is_file() and (copy / "web" / "routers" / "claims.py").is_file()
