"""Secrets stay out of committed files, command lines and Helm's release history.

The scans read every committed values file and .gitlab-ci.yml; a test of their own shows
each one catching what it looks for. The deploy job's script then runs for real, with
kubectl and helm replaced by recorders, to show the Secrets it applies and that no
secret reached the arguments of either.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.charts import CHARTS
from tests.k8s.tools import ROOT, Tools

pytestmark = pytest.mark.k8s

CI_FILE = ROOT / ".gitlab-ci.yml"
# A Telegram bot token: the bot's id, a colon, 35 characters of secret.
TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")
SECRETISH = re.compile(r"token|secret|passw(or)?d|credential|api_?key", re.IGNORECASE)
# Keys whose value names a Secret object instead of holding a secret.
NAMES_A_SECRET = {"existingSecret", "secretName"}
HELM_SET = re.compile(r"--set(?:-string|-json|-file|-literal)?[= ]+['\"]?([\w.\[\]\\-]+)=")
PASSWORD_LITERAL = re.compile(r"password\s*:\s*(\S+)", re.IGNORECASE)
PLACEHOLDER = re.compile(r"""^(["']{2}|["']?[$<…{].*)$""")
SECRET_VARIABLE = re.compile(r"\$\{?([A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD)[A-Z0-9_]*)")
# Shell builtins: they start no process, so their arguments are in no /proc/*/cmdline.
BUILTINS = ("printf ", "[ ", "test ")
COMMAND_SPLIT = re.compile(r"\|\|?|&&|;|\$\(|\{")
KEYWORDS = re.compile(r"^(?:(?:if|then|elif|else|while|until|do|!)\s+)+")


def _scanned_files() -> list[Path]:
    values = sorted(CHARTS.glob("*/values*.yaml")) + sorted(CHARTS.glob("*/examples/*.yaml"))
    return [*values, CI_FILE]


def _secret_keys(node: Any, path: str = "") -> Iterator[str]:
    """Paths of keys that look like a secret and hold a non-empty scalar."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            scalar = not isinstance(value, dict | list) and value not in (None, "")
            if scalar and SECRETISH.search(str(key)) and key not in NAMES_A_SECRET:
                yield here
            yield from _secret_keys(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _secret_keys(item, f"{path}[{index}]")


def _text_findings(text: str) -> list[str]:
    found = [match.group(0) for match in TOKEN_SHAPE.finditer(text)]
    for match in HELM_SET.finditer(text):
        key = match.group(1).rsplit(".", 1)[-1]
        if SECRETISH.search(key) and key not in NAMES_A_SECRET:
            found.append(match.group(0))
    found += [
        m.group(0) for m in PASSWORD_LITERAL.finditer(text) if not PLACEHOLDER.match(m.group(1))
    ]
    return found


def _argv_exposures(script_line: str) -> list[str]:
    """Commands of a shell line that expand a secret variable outside a shell builtin."""
    exposed = []
    for part in COMMAND_SPLIT.split(script_line):
        command = KEYWORDS.sub("", part.strip())
        if SECRET_VARIABLE.search(command) and not command.startswith(BUILTINS):
            exposed.append(command)
    return exposed


def _ci_script_lines() -> list[str]:
    config: dict[str, Any] = yaml.safe_load(CI_FILE.read_text())
    return [
        line
        for job in config.values()
        if isinstance(job, dict)
        for part in ("before_script", "script", "after_script")
        for line in job.get(part, [])
    ]


def test_the_scans_catch_what_they_look_for() -> None:
    token = "12345678:" + "A1b2C3d4E5" * 4
    flagged_yaml = {"secrets": {"botToken": "x"}, "cfg": {"APP_CONF__NATS__PASSWORD": "pw"}}
    clean_yaml = {"existingSecret": "vitrina-settings", "secrets": {"webhookSecret": ""}}

    assert list(_secret_keys(flagged_yaml)) == ["secrets.botToken", "cfg.APP_CONF__NATS__PASSWORD"]
    assert list(_secret_keys(clean_yaml)) == []
    assert _text_findings(f"bot: {token}") == [token]
    assert _text_findings("--set-string secrets.botToken=$T") != []
    assert _text_findings("--set global.vitrina.existingSecret=s --set secrets.create=false") == []
    assert _text_findings("password: hunter2") == ["password: hunter2"]
    assert _text_findings('password: ""  # or APP_CONF__NATS__PASSWORD: …') == []
    assert _argv_exposures('kubectl create secret x --from-literal=T="$BOT_TOKEN"') != []
    assert _argv_exposures('a="$(printf %s "$CI_DEPLOY_PASSWORD" | base64)"') == []
    assert _argv_exposures('if [ -n "$X_SECRET" ]; then printf %s "$X_SECRET" > f; fi') == []


@pytest.mark.parametrize("path", _scanned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_committed_values_or_ci_file_holds_a_secret(path: Path) -> None:
    text = path.read_text()
    documents = [doc for doc in yaml.safe_load_all(text) if doc]

    assert [key for doc in documents for key in _secret_keys(doc)] == []
    assert _text_findings(text) == []


def test_ci_expands_secret_variables_only_in_shell_builtins() -> None:
    lines = _ci_script_lines()

    assert any(SECRET_VARIABLE.search(line) for line in lines)  # the scan has work to do
    assert [cmd for line in lines for cmd in _argv_exposures(line)] == []


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> "$ARGV_LOG"\n{body}\n')
    path.chmod(0o755)


def test_deploy_job_hands_the_secrets_to_kubectl_as_files(tools: Tools, tmp_path: Path) -> None:
    config = yaml.safe_load(CI_FILE.read_text())
    stubs, scratch = tmp_path / "bin", tmp_path / "tmp"
    stubs.mkdir()
    scratch.mkdir()
    apply_body = 'case " $* " in *" apply "*) cat >> "$APPLIED"; echo --- >> "$APPLIED";;'
    _stub(stubs, "kubectl", apply_body + ' *) exec "$REAL_KUBECTL" "$@";; esac')
    _stub(stubs, "helm", "")
    token, webhook = f"4242:{secrets.token_urlsafe(27)}", secrets.token_hex(16)
    password = secrets.token_hex(12)
    env = {
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "TMPDIR": str(scratch),
        "ARGV_LOG": str(tmp_path / "argv.log"),
        "APPLIED": str(tmp_path / "applied.yaml"),
        "REAL_KUBECTL": str(tools.kubectl),
        "KUBE_NAMESPACE": "vitrina-staging",
        "VALUES_FILE": "",
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_WEBHOOK_SECRET": webhook,
        "CI_REGISTRY": "registry.vitrina.test",
        "CI_REGISTRY_IMAGE": "registry.vitrina.test/shop/vitrina",
        "CI_DEPLOY_USER": "deployer",
        "CI_DEPLOY_PASSWORD": password,
    }
    script = "\n".join(config[".deploy"]["script"])
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    argv = (tmp_path / "argv.log").read_text()
    applied = {
        doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all((tmp_path / "applied.yaml").read_text())
        if doc
    }
    settings = applied["vitrina-settings"]["data"]
    pull = json.loads(base64.b64decode(applied["vitrina-registry"]["data"][".dockerconfigjson"]))
    ci_values = yaml.safe_load((CHARTS / "vitrina" / "values-ci.yaml").read_text())
    helm_call = next(line for line in argv.splitlines() if line.startswith("helm upgrade"))

    assert not any(secret in argv for secret in (token, webhook, password))
    assert base64.b64decode(settings["APP_CONF__BOT__TOKEN"]).decode() == token
    assert base64.b64decode(settings["APP_CONF__BOT__WEBHOOK_SECRET"]).decode() == webhook
    auth = pull["auths"]["registry.vitrina.test"]["auth"]
    assert base64.b64decode(auth).decode() == f"deployer:{password}"
    assert "--server-side" in argv
    assert "-f charts/vitrina/values-ci.yaml" in helm_call
    assert ci_values["global"]["vitrina"]["existingSecret"] == "vitrina-settings"
    assert ci_values["secrets"] == {"create": False, "botToken": "", "webhookSecret": ""}
    assert list(scratch.iterdir()) == []  # the files are gone once applied
