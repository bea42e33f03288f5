"""pyproject.toml and the lock files agree (issue 15, docs/install.md): every pin of the locks lies
in its declared range and carries hashes, the runtime lock holds no pandas or openpyxl, and
requirements-min.txt pins exactly the declared minimums that `make test-min` tests."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
RUNTIME = {"typer", "rich", "pyarrow", "duckdb", "pydantic", "python-calamine", "xlsxwriter"}
NOT_RUNTIME = {"pandas", "numpy", "openpyxl", "pytest", "hypothesis", "ruff"}
# The lock files are resolved for CPython 3.11 and up (`make lock`); the min file is tested on 3.11.
PY311 = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.0"}


@dataclass
class Pin:
    requirement: Requirement
    hashes: list[str]

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> Version:
        (spec,) = self.requirement.specifier
        return Version(spec.version)


def read_lock(name: str) -> list[Pin]:
    """The entries of a `uv pip compile --generate-hashes` file: `name==version ; marker` followed
    by its --hash options on continuation lines; comment lines dropped."""
    text = (REPO / name).read_text("utf-8").replace("\\\n", " ")
    pins = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement, *hashes = line.split("--hash=")
        pins.append(Pin(Requirement(requirement.strip()), [h.strip() for h in hashes]))
    return pins


def declared(*extras: str) -> dict[str, Requirement]:
    requirements = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        requirements += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return {canonicalize_name(r.name): r for r in requirements}


def pins_for(pins: list[Pin], environment: dict | None = None) -> dict[str, Pin]:
    """The pin of each package that applies in `environment` (a lock may fork by Python version)."""
    chosen = {}
    for pin in pins:
        marker = pin.requirement.marker
        if marker is None or environment is None or marker.evaluate(environment):
            assert pin.name not in chosen or environment is None, f"{pin.name} pinned twice for 3.11"
            chosen.setdefault(pin.name, pin)
    return chosen


def test_runtime_dependencies_are_the_seven_the_code_imports():
    assert set(declared()) == RUNTIME
    assert not NOT_RUNTIME & set(declared())
    assert "pandas" in declared("notebook")
    assert {"pandas", "openpyxl", "pytest", "hypothesis", "ruff"} <= set(declared("dev"))


def test_ruff_is_pinned_exactly():
    (spec,) = declared("dev")["ruff"].specifier
    assert spec.operator == "=="


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock", "requirements-min.txt"])
def test_every_pin_is_exact_and_has_hashes(lock):
    pins = read_lock(lock)
    assert pins
    for pin in pins:
        assert [s.operator for s in pin.requirement.specifier] == ["=="], pin.requirement
        assert pin.hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes), pin.name


@pytest.mark.parametrize(("lock", "extras"), [
    ("requirements.lock", ()),
    ("requirements-dev.lock", ("dev", "notebook")),
    ("requirements-min.txt", ("dev", "notebook")),
])
def test_every_declared_dependency_is_locked_within_its_range(lock, extras):
    pins = read_lock(lock)
    for name, requirement in declared(*extras).items():
        locked = [pin for pin in pins if pin.name == name]
        assert locked, f"{name} is declared but not in {lock}: run make lock"
        for pin in locked:
            assert requirement.specifier.contains(pin.version, prereleases=True), \
                f"{lock} pins {name}=={pin.version}, outside {requirement.specifier}: run make lock"


def test_the_runtime_lock_holds_no_test_or_notebook_packages():
    names = {pin.name for pin in read_lock("requirements.lock")}
    assert RUNTIME <= names
    assert not NOT_RUNTIME & names


def test_the_runtime_lock_has_one_pin_per_package():
    # `make wheels PLATFORM=…` drops the markers (pip would judge them by this machine), which is
    # right only while no package is pinned at two versions for different platforms or Pythons
    names = [pin.name for pin in read_lock("requirements.lock")]
    assert len(names) == len(set(names))


def test_the_dev_lock_tests_what_the_runtime_lock_ships():
    runtime = read_lock("requirements.lock")
    dev = {(pin.name, str(pin.requirement.marker)): pin.version for pin in read_lock("requirements-dev.lock")}
    for pin in runtime:
        assert dev.get((pin.name, str(pin.requirement.marker))) == pin.version, pin.name


def test_the_min_file_pins_each_declared_minimum():
    pins = pins_for(read_lock("requirements-min.txt"), PY311)
    for name, requirement in declared("dev", "notebook").items():
        lowest = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
        assert len(lowest) == 1, f"{name} needs a lower bound for make test-min"
        assert pins[name].version == lowest[0], \
            f"requirements-min.txt pins {name}=={pins[name].version}, the minimum is {lowest[0]}: run make lock"


def test_make_reinstalls_when_a_lock_changes():
    makefile = (REPO / "Makefile").read_text("utf-8")
    stamp_rule = re.search(r"^\$\(STAMP\):(.*)$", makefile, flags=re.M).group(1).split()
    assert {"pyproject.toml", "$(LOCK)", "$(DEV_LOCK)"} <= set(stamp_rule)
    assert re.search(r"^LOCK\s*:=\s*requirements\.lock$", makefile, flags=re.M)
    assert re.search(r"^DEV_LOCK\s*:=\s*requirements-dev\.lock$", makefile, flags=re.M)
    assert "--require-hashes -r $(DEV_LOCK)" in makefile
