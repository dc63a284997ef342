"""The conda environment and the pip project pin the same packages."""
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# name (with its extras: psycopg[binary]) == version
PIN = r"([A-Za-z0-9_.\-]+(?:\[[A-Za-z0-9_,\-]+\])?)==(\S+)"


def pins_from_pyproject() -> dict:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return dict(re.match(PIN, d).groups() for d in project["dependencies"])


def pins_from_environment_yml() -> dict:
    pins = {}
    for line in (REPO / "environment.yml").read_text().splitlines():
        match = re.match(r"\s*-\s+" + PIN + r"\s*$", line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def test_environment_yml_and_pyproject_pin_the_same_versions():
    assert pins_from_environment_yml() == pins_from_pyproject()


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    loose = [d for d in project["dependencies"] if "==" not in d]
    assert not loose, f"unpinned dependencies: {loose}"


def test_torch_pins_are_the_ones_this_machine_ships():
    pins = pins_from_pyproject()
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
