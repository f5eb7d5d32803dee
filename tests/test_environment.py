"""pyproject.toml, environment.yml and requirements.lock must pin the same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([A-Za-z0-9_.+\-]+)\s*$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        m = PIN.match(line.split("#")[0])
        if m:
            out[_norm(m.group(1))] = m.group(2)
    return out


def _meta() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pyproject_pins() -> dict[str, str]:
    meta = _meta()
    groups = [meta["dependencies"], *meta["optional-dependencies"].values()]
    pins: dict[str, str] = {}
    for deps in groups:
        group = _pins(deps)
        assert len(group) == len(deps), "every dependency in pyproject.toml must be pinned with =="
        for name, version in group.items():
            assert pins.setdefault(name, version) == version, (
                f"{name} is pinned to {pins[name]} and {version} in pyproject.toml")
    return pins


def _environment_pins() -> dict[str, str]:
    lines = []
    for raw in (ROOT / "environment.yml").read_text().splitlines():
        item = raw.strip()
        if item.startswith("- ") and "==" in item:
            lines.append(item[2:].strip().strip("'\""))
    return _pins(lines)


def test_environment_yml_matches_pyproject():
    py, env = _pyproject_pins(), _environment_pins()
    missing = sorted(set(py) - set(env))
    assert not missing, f"environment.yml lacks pins for {missing}"
    differ = {k: (py[k], env[k]) for k in py if env[k] != py[k]}
    assert not differ, f"pyproject vs environment.yml disagree: {differ}"


def test_lock_agrees_with_pyproject():
    lock = _pins((ROOT / "requirements.lock").read_text().splitlines())
    py = _pyproject_pins()
    differ = {k: (py[k], lock.get(k)) for k in py if lock.get(k) != py[k]}
    assert not differ, f"requirements.lock disagrees with pyproject (run `make lock`): {differ}"


def test_torch_is_pinned_to_the_cpu_wheel_version():
    # an unpinned torch pulls several GB of CUDA packages
    assert _pyproject_pins()["torch"] == "2.13.0"


def test_python_version_in_environment_yml():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"python\s*=\s*3\.11", text)


def test_learners_get_no_instructor_tools():
    """`make lab` installs the plain dependencies; nbgrader and JupyterHub come in extras."""
    meta = _meta()
    learner = set(_pins(meta["dependencies"]))
    extras = {k: set(_pins(v)) for k, v in meta["optional-dependencies"].items()}
    assert "nbgrader" in extras["instructor"] and "jupyterhub" in extras["hub"]
    assert not learner & (extras["instructor"] | extras["hub"]), learner & extras["instructor"]
    # the tests run nbgrader and a hub, so what `make test` installs has both, at the same pins
    assert extras["instructor"] | extras["hub"] <= extras["dev"]


def test_python_versions_agree():
    """pyproject, the Makefile's check and the README name the same three versions."""
    assert _meta()["requires-python"] == ">=3.11,<3.14"
    makefile = (ROOT / "Makefile").read_text()
    assert "(3, 11) <= sys.version_info[:2] <= (3, 13)" in makefile
    assert "python3.13 python3.12 python3.11" in makefile
    assert "3.11, 3.12 or 3.13" in (ROOT / "README.md").read_text()
