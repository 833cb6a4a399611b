"""The pipeline, as gitlab-ci-local reads it: stages, jobs, and which changes build which image.

gitlab-ci-local evaluates `rules: changes` against the default branch of `origin`, so the
tests work in a throwaway clone whose origin is itself, with this working tree's
.gitlab-ci.yml committed on main (the tree may hold uncommitted work).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.k8s.tools import ROOT, Tools

pytestmark = pytest.mark.k8s

GIT_IDENTITY = ["-c", "user.email=ci@vitrina.test", "-c", "user.name=ci"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *GIT_IDENTITY, *args], cwd=repo, check=True, capture_output=True)


class Pipeline:
    """A clone to commit changes in, and the job list gitlab-ci-local derives from them."""

    def __init__(self, repo: Path, gitlab_ci_local: Path) -> None:
        self.repo = repo
        self.gitlab_ci_local = gitlab_ci_local

    def jobs(self) -> dict[str, tuple[str, str]]:
        """Job name -> (stage, when); `never` marks a job the rules leave out."""
        result = subprocess.run(
            [str(self.gitlab_ci_local), "--list-json"],
            cwd=self.repo,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return {job["name"]: (job["stage"], job["when"]) for job in json.loads(result.stdout)}

    def branch_changing(self, branch: str, path: str) -> None:
        """Check out a new branch from main with one commit that touches ``path``."""
        _git(self.repo, "checkout", "-q", "main")
        _git(self.repo, "checkout", "-q", "-b", branch)
        target = self.repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a") as file:
            file.write("\n# touched by the pipeline test\n")
        _git(self.repo, "add", path)
        _git(self.repo, "commit", "-q", "-m", f"touch {path}")


@pytest.fixture(scope="module")
def pipeline(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """A clone of the repository on main, with origin/HEAD pointing at main."""
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True, capture_output=True)
    _git(repo, "checkout", "-q", "-B", "main")
    shutil.copy(ROOT / ".gitlab-ci.yml", repo / ".gitlab-ci.yml")
    _git(repo, "add", ".gitlab-ci.yml")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "pipeline under test")
    _git(repo, "remote", "set-url", "origin", str(repo))
    _git(repo, "fetch", "-q", "origin")
    _git(repo, "remote", "set-head", "origin", "main")
    return Pipeline(repo, tools.gitlab_ci_local)


def test_stages_run_lint_test_build_deploy_in_that_order() -> None:
    config = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())

    assert config["stages"] == ["lint", "test", "build", "deploy"]


def test_default_branch_runs_checks_and_deploys_staging_then_production_by_hand(
    pipeline: Pipeline,
) -> None:
    _git(pipeline.repo, "checkout", "-q", "main")

    assert pipeline.jobs() == {
        "lint": ("lint", "on_success"),
        "test": ("test", "on_success"),
        "build:bot": ("build", "never"),
        "build:worker": ("build", "never"),
        "build:api": ("build", "never"),
        "deploy:staging": ("deploy", "on_success"),
        "deploy:production": ("deploy", "manual"),
    }


def test_a_bot_change_builds_only_the_bot_image(pipeline: Pipeline) -> None:
    pipeline.branch_changing("bot-only", "services/bot/src/vitrina_bot/__init__.py")
    jobs = pipeline.jobs()

    assert jobs["build:bot"] == ("build", "on_success")
    assert jobs["build:worker"] == ("build", "never")
    assert jobs["build:api"] == ("build", "never")
    assert jobs["deploy:staging"] == ("deploy", "never")


def test_an_api_change_builds_only_the_api_image(pipeline: Pipeline) -> None:
    pipeline.branch_changing("api-only", "services/api/src/vitrina_api/__init__.py")
    jobs = pipeline.jobs()

    assert jobs["build:api"] == ("build", "on_success")
    assert jobs["build:bot"] == jobs["build:worker"] == ("build", "never")


@pytest.mark.parametrize(
    "path",
    [
        "libs/common/src/vitrina_common/__init__.py",
        "migrations/env.py",
        "services/worker/requirements.lock",
    ],
)
def test_a_shared_change_rebuilds_what_depends_on_it(pipeline: Pipeline, path: str) -> None:
    pipeline.branch_changing("shared-" + path.replace("/", "-").replace(".", "-"), path)
    jobs = pipeline.jobs()
    shared = not path.startswith("services/worker/")

    assert jobs["build:worker"] == ("build", "on_success")
    assert jobs["build:bot"] == ("build", "on_success" if shared else "never")
    assert jobs["build:api"] == ("build", "on_success" if shared else "never")


def test_a_docs_change_builds_no_image(pipeline: Pipeline) -> None:
    pipeline.branch_changing("docs", "README.md")
    jobs = pipeline.jobs()

    assert jobs["build:bot"][1] == jobs["build:worker"][1] == jobs["build:api"][1] == "never"
    assert jobs["test"] == ("test", "on_success")


def test_deploy_rolls_back_on_failure_and_waits_for_the_jobs() -> None:
    config = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    script = " ".join(config[".deploy"]["script"])

    assert "helm upgrade --install" in script
    assert "--rollback-on-failure" in script  # Helm 4's name for --atomic
    assert "--wait=watcher --wait-for-jobs --timeout" in script
    assert config["deploy:production"]["environment"]["name"] == "production"
    assert config["deploy:staging"]["environment"]["name"] == "staging"


def test_deploy_points_every_service_at_its_image_in_the_registry() -> None:
    config = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    script = " ".join(config[".deploy"]["script"])
    needed = {need["job"] for need in config[".deploy"]["needs"]}

    for service in ("bot", "worker", "api"):
        assert f'{service}.image.repository="$CI_REGISTRY_IMAGE/{service}"' in script
        assert f'{service}.image.tag="${service.upper()}_IMAGE_TAG"' in script
        assert f"{service}.imagePullSecrets[0].name=vitrina-registry" in script
        assert f"build:{service}" in needed
