"""Every stream and bucket has a size limit from a documented setting, and the defaults fit
the JetStream volume the chart gives NATS by default, with room to spare: nats-server
without a configured max_file_store allows 75 % of the free space it finds, and a
filesystem never offers its whole size."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT
from vitrina_common.config import NatsSettings
from vitrina_common.messaging.targets import topology_targets

README = (ROOT / "README.md").read_text()
_UNITS = {"Mi": 2**20, "Gi": 2**30}


def chart_jetstream_volume() -> int:
    values = yaml.safe_load((ROOT / "charts/vitrina/values.yaml").read_text())
    size = values["nats"]["config"]["jetstream"]["fileStore"]["pvc"]["size"]
    match = re.fullmatch(r"(\d+)(Mi|Gi)", size)
    assert match is not None, size
    return int(match[1]) * _UNITS[match[2]]


def test_every_stream_and_bucket_takes_its_max_bytes_from_a_documented_setting() -> None:
    defaults = NatsSettings()

    for target in topology_targets(defaults):
        field = target.max_bytes_setting.removeprefix("APP_CONF__NATS__").lower()
        assert getattr(defaults, field) == target.max_bytes
        assert f"| `{target.max_bytes_setting}` | `{target.max_bytes}` |" in README
        mib = target.max_bytes // 2**20
        assert re.search(rf"\| `{re.escape(target.name)}`[^|]*\|[^|]*\| {mib} MiB \|", README)


def test_the_default_limits_fit_well_inside_the_charts_jetstream_volume() -> None:
    total = sum(target.max_bytes for target in topology_targets(NatsSettings()))

    assert total <= 0.6 * chart_jetstream_volume()
    assert f"| **Total** | | **{total // 2**20} MiB** |" in README
