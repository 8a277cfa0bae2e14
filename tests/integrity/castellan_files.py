"""A castellan key-manager backend that reads certificates from a directory.

Glance asks Barbican for the signing certificate through castellan; there is no Barbican
here, so this backend serves ``$VMGUARD_TEST_CERT_DIR/<uuid>.der`` through castellan's own
interface. Everything after the lookup is OpenStack's code (cursive, castellan objects).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from castellan.common import exception
from castellan.common.objects import x_509
from castellan.key_manager import key_manager


class DirectoryKeyManager(key_manager.KeyManager):  # type: ignore[misc]
    """Read-only castellan backend over a directory of DER certificates."""

    def __init__(self, configuration: Any) -> None:
        self.directory = Path(os.environ["VMGUARD_TEST_CERT_DIR"])

    def get(self, context: Any, managed_object_id: str, metadata_only: bool = False) -> Any:
        path = self.directory / f"{managed_object_id}.der"
        if not path.is_file():
            raise exception.ManagedObjectNotFoundError(uuid=managed_object_id)
        return x_509.X509(path.read_bytes(), id=managed_object_id)

    def create_key(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def create_key_pair(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def store(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def list(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def add_consumer(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def remove_consumer(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
