"""The README stays true: every setting documented, the two commands first, CI runs the test one."""

from __future__ import annotations

import re

from pydantic import BaseModel

from tests.conftest import ROOT
from vitrina_common.config import ENV_PREFIX, NESTED_DELIMITER, ApiServiceSettings, Settings

README = (ROOT / "README.md").read_text()


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _env_names(annotation, f"{prefix}{name.upper()}{NESTED_DELIMITER}")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    names = {
        name for model in (Settings, ApiServiceSettings) for name in _env_names(model, ENV_PREFIX)
    }
    undocumented = sorted(name for name in names if f"| `{name}` |" not in README)

    assert undocumented == []


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make run", "make test"]
    assert "\nmake test\n" in (ROOT / ".ci" / "run").read_text()
