"""skaffold.yaml and kind-config.yaml parse, and everything they name exists."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.k8s.tools import ROOT

pytestmark = pytest.mark.k8s


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return document


def test_skaffold_builds_every_image_from_the_repository_root() -> None:
    config = _load("skaffold.yaml")
    artifacts = {a["image"]: a for a in config["build"]["artifacts"]}

    assert re.fullmatch(r"skaffold/v4beta\d+", config["apiVersion"])
    assert set(artifacts) == {"vitrina-bot", "vitrina-worker", "vitrina-api"}
    for image, artifact in artifacts.items():
        dockerfile = artifact["docker"]["dockerfile"]
        assert artifact["context"] == "."
        assert dockerfile == f"services/{image.removeprefix('vitrina-')}/Dockerfile"
        assert (ROOT / dockerfile).is_file()


def test_skaffold_deploys_the_umbrella_with_the_images_it_built() -> None:
    config = _load("skaffold.yaml")
    (release,) = config["deploy"]["helm"]["releases"]
    templates = release["setValueTemplates"]

    assert (ROOT / release["chartPath"] / "Chart.yaml").is_file()
    assert all((ROOT / path).is_file() for path in release["valuesFiles"])
    for artifact in config["build"]["artifacts"]:
        # Skaffold's template key: the image name with / - . turned into _.
        key = re.sub(r"[/.-]", "_", artifact["image"])
        service = artifact["image"].removeprefix("vitrina-")
        assert templates[f"{service}.image.repository"] == f"{{{{.IMAGE_REPO_{key}}}}}"
        assert templates[f"{service}.image.tag"] == f"{{{{.IMAGE_TAG_{key}}}}}"


def test_skaffold_builds_the_chart_dependencies_with_the_project_script() -> None:
    config = _load("skaffold.yaml")
    (hook,) = config["deploy"]["helm"]["hooks"]["before"]
    (release,) = config["deploy"]["helm"]["releases"]

    assert release["skipBuildDependencies"] is True
    assert (ROOT / hook["host"]["command"][-1]).is_file()


def test_kind_cluster_has_an_ingress_ready_node_with_http_ports_mapped() -> None:
    config = _load("kind-config.yaml")
    (node,) = config["nodes"]

    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert node["role"] == "control-plane"
    assert node["labels"] == {"ingress-ready": "true"}
    mapped = {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]}
    assert mapped == {(80, 80), (443, 443)}
