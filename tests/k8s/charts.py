"""An offline copy of charts/ whose umbrella dependencies are built the way users build them.

Third-party subcharts cannot be fetched here, so placeholder ``nats`` and ``cluster``
charts (at the locked versions) are served from a loopback Helm repository under the
aliases ``nats`` and ``cnpg``, and ``charts/build-deps.sh`` fills
``charts/vitrina/charts/`` from the committed Chart.lock exactly as it does for real.
A placeholder renders nothing unless given ``echoValues=true``: then one ``SubchartValues``
document holding the values Helm handed it, so a test can check what the real chart would
receive (merged from every values file, under the alias, only when its condition holds).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.tools import ROOT

CHARTS = ROOT / "charts"
UMBRELLA = "vitrina"
RELEASE = "vitrina"
NAMESPACE = "shop"
# Kinds from CRDs kubernetes-validate has no schema for; tests assert their fields.
CUSTOM_KINDS = frozenset(
    {"ScaledObject", "ServiceMonitor", "Cluster", "SubchartValues", "PrometheusRule"}
)
# The placeholder subcharts' one template: their values, on request.
_ECHO_TEMPLATE = """{{- if .Values.echoValues }}
apiVersion: tests.vitrina/v1
kind: SubchartValues
metadata:
  name: {{ .Chart.Name }}
values:
  {{- toYaml .Values | nindent 2 }}
{{- end }}
"""

Manifest = dict[str, Any]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (stdlib name)
        """Keep the test output clean."""


@contextmanager
def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def locked_dependencies(chart: Path) -> list[dict[str, str]]:
    """The dependencies recorded in a chart's Chart.lock."""
    lock: dict[str, Any] = yaml.safe_load((chart / "Chart.lock").read_text())
    return list(lock["dependencies"])


class ChartWorkspace:
    """charts/ copied to ``root`` with its subcharts built, and Helm pointed at it."""

    def __init__(self, root: Path, helm: Path) -> None:
        self.root = root
        self.helm_path = helm
        home = root / "helm-home"
        self.env = {
            **os.environ,
            "HELM": str(helm),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        self.charts = root / "charts"
        shutil.copytree(CHARTS, self.charts, ignore=shutil.ignore_patterns("charts", "*.tgz"))

    def helm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run helm in the workspace; raise with its output when ``check`` and it fails."""
        result = subprocess.run(
            [str(self.helm_path), *args],
            cwd=self.charts,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
        return result

    def build_dependencies(self) -> subprocess.CompletedProcess[str]:
        """Serve placeholder third-party charts on loopback and run build-deps.sh."""
        repo = self.root / "repo"
        for dep in locked_dependencies(self.charts / UMBRELLA):
            alias = dep["repository"].removeprefix("@")
            if alias == dep["repository"]:
                continue  # file:// dependency, packaged from the copy
            source = self.root / "placeholders" / dep["name"]
            source.mkdir(parents=True)
            (source / "Chart.yaml").write_text(
                yaml.safe_dump({"apiVersion": "v2", "name": dep["name"], "version": dep["version"]})
            )
            (source / "templates").mkdir()
            (source / "templates" / "values-echo.yaml").write_text(_ECHO_TEMPLATE)
            self.helm("package", str(source), "--destination", str(repo / alias))
            self.helm("repo", "index", str(repo / alias))
        with _serve(repo) as url:
            for alias in sorted(path.name for path in repo.iterdir()):
                self.helm("repo", "add", alias, f"{url}/{alias}")
            return subprocess.run(
                ["sh", str(self.charts / "build-deps.sh")],
                env=self.env,
                capture_output=True,
                text=True,
                check=False,
            )

    def render(
        self,
        *values_files: str,
        values: Mapping[str, str | int | bool] | None = None,
        chart: str = UMBRELLA,
    ) -> list[Manifest]:
        """``helm template`` the chart; the documents, without empty ones."""
        args = ["template", RELEASE, chart, "--namespace", NAMESPACE]
        for path in values_files:
            args += ["--values", path]
        for key, value in (values or {}).items():
            if isinstance(value, str):
                args += ["--set-string", f"{key}={value}"]
            else:  # bool before str(): helm wants true/false
                args += ["--set", f"{key}={str(value).lower()}"]
        return [doc for doc in yaml.safe_load_all(self.helm(*args).stdout) if doc]


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    """The manifests of one kind."""
    return [doc for doc in manifests if doc["kind"] == kind]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """The single manifest of ``kind`` named ``name``."""
    (found,) = [doc for doc in by_kind(manifests, kind) if doc["metadata"]["name"] == name]
    return found
