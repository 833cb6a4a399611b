"""The files of an import the admin is still sending, kept in the dialog's data (the FSM
storage, so a bot restart or another replica continues where the admin was)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from vitrina_bot.imports.intake import ImportFileKind, ReceivedFile
from vitrina_common.services.imports import StoredImportFiles

_KEYS = {ImportFileKind.CSV: "import_csv", ImportFileKind.ZIP: "import_zip"}


@dataclass(frozen=True)
class PendingImport:
    """A CSV and/or a ZIP received so far."""

    csv: ReceivedFile | None = None
    zip: ReceivedFile | None = None

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> PendingImport:
        """The pending files recorded in a dialog's data."""
        found = {}
        for kind, key in _KEYS.items():
            stored = data.get(key)
            if isinstance(stored, dict):
                found[kind.value] = ReceivedFile(**{**stored, "kind": kind})
        return cls(**found)

    def save(self, data: MutableMapping[str, Any]) -> None:
        """Record the pending files in a dialog's data."""
        for kind, key in _KEYS.items():
            received = self.csv if kind is ImportFileKind.CSV else self.zip
            if received is None:
                data.pop(key, None)
            else:
                data[key] = {k: v for k, v in asdict(received).items() if k != "kind"}

    def with_file(self, received: ReceivedFile) -> PendingImport:
        """These files plus ``received`` (a second CSV or ZIP replaces the first)."""
        if received.kind is ImportFileKind.CSV:
            return replace(self, csv=received)
        return replace(self, zip=received)

    def ready(self) -> StoredImportFiles | None:
        """The files of a complete import: a ZIP, and a CSV beside it or inside it."""
        if self.zip is None or (self.csv is None and not self.zip.carries_csv):
            return None
        return StoredImportFiles(
            zip_key=self.zip.key,
            zip_name=self.zip.name,
            csv_key=self.csv.key if self.csv else None,
            csv_name=self.csv.name if self.csv else None,
        )
