"""The install lock (envs/requirements.lock.txt) stays inside pyproject's requirements.

`make install` passes the lock to pip as constraints: a requirement raised in pyproject.toml
without `make lock` would make every fresh install fail to resolve. This catches it first.
"""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from workflow_utils import REPO

LOCK = REPO / "envs" / "requirements.lock.txt"


def locked_versions() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{LOCK.name}: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_every_locked_version_satisfies_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["dev"]]
    pins = locked_versions()
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name == "torch":  # pinned by the Makefile (a local CPU wheel), not by the lock
            assert name not in pins
            continue
        assert name in pins, f"{requirement.name} is required but not locked: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {requirement.name}=={pins[name]}, outside pyproject's {requirement}: run make lock"
        )
