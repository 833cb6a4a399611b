"""The service images: hadolint-clean, non-root, graceful, built from a minimal context."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.k8s.charts import CHARTS
from tests.k8s.tools import ROOT

pytestmark = pytest.mark.k8s

SERVICES = ("bot", "worker", "api")
HEALTH_PORTS = {"bot": 8080, "worker": 8081, "api": 8083}
# Ports a service serves besides its health port.
SERVICE_PORTS = {"api": [8082]}


def _dockerfile(service: str) -> str:
    return (ROOT / "services" / service / "Dockerfile").read_text()


def _instructions(service: str) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", _dockerfile(service))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfiles_pass_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(ROOT / ".venv" / "bin")) or "hadolint"
    files = [str(ROOT / "services" / s / "Dockerfile") for s in SERVICES]
    result = subprocess.run([hadolint, *files], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_image_runs_its_service_as_a_numeric_non_root_user_and_stops_on_sigterm(
    service: str,
) -> None:
    steps = _instructions(service)
    last = dict(steps)  # the last value of each instruction wins
    bases = [args.split()[0] for op, args in steps if op == "FROM"]

    assert all(re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base) for base in bases)
    assert re.fullmatch(r"\d+:\d+", last["USER"])
    assert int(last["USER"].split(":")[0]) > 0
    assert last["STOPSIGNAL"] == "SIGTERM"
    assert json.loads(last["CMD"]) == ["python", "-m", f"vitrina_{service}"]
    exposed = sorted(int(port) for port in last["EXPOSE"].split())
    assert exposed == sorted([HEALTH_PORTS[service], *SERVICE_PORTS.get(service, [])])
    assert "PYTHONDONTWRITEBYTECODE=1" in last["ENV"]
    assert "PYTHONUNBUFFERED=1" in last["ENV"]
    assert f"/app/services/{service}/src" in last["ENV"]


@pytest.mark.parametrize("service", SERVICES)
def test_image_installs_only_the_hashed_lock_of_its_service(service: str) -> None:
    runs = " ".join(args for op, args in _instructions(service) if op == "RUN")

    assert "--require-hashes" in runs
    assert "--only-binary=:all:" in runs
    assert ("COPY", f"services/{service}/requirements.lock /tmp/requirements.lock") in (
        _instructions(service)
    )


@pytest.mark.parametrize("service", SERVICES)
def test_chart_default_ports_are_the_ones_the_image_exposes(service: str) -> None:
    values = yaml.safe_load((CHARTS / service / "values.yaml").read_text())

    assert values["healthPort"] == HEALTH_PORTS[service]
    served = [values["port"]] if "port" in values else []
    assert served == SERVICE_PORTS.get(service, [])


def _in_context(path: str, rules: list[str]) -> bool:
    """Docker's .dockerignore: the last matching rule decides; `!` re-includes."""
    included = True
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.removeprefix("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes) or fnmatch.fnmatchcase(
            path, pattern
        ):
            included = negate
    return included


def test_build_context_holds_what_the_dockerfiles_copy_and_nothing_private() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = {
        source
        for service in SERVICES
        for op, args in _instructions(service)
        if op == "COPY" and not args.startswith("--from")
        for source in args.split()[:-1]
    }
    private = [".git/config", ".venv/bin/python", ".env", "tests/conftest.py", ".tools/bin/uv"]
    private += ["bench/run.py", ".devdata/pg/PG_VERSION", "uv.lock", "README.md"]

    assert rules[0] == "*"
    assert all(_in_context(source.rstrip("/") + "/x.py", rules) for source in copied)
    assert [path for path in private if _in_context(path, rules)] == []
