"""The recordings page's files (agent_ui.recordings.RecordingFiles) over the recordings
library: the storage and the private keys the running deployment names.

Rules: the deployment is read at every request (a reload that moves the storage or adds
a rotated key takes effect at once); the keyring is loaded per request from
`recordings.identities` (env SENTRAL_RECORDINGS_IDENTITIES, applied by the loader) and
SENTRAL_RECORDING_KEY_* variables, so a key file added by the administrator is used
without a restart; the storage object is kept while its configuration stays the same (an
S3 client is not made per request)."""
from __future__ import annotations

import os
from typing import Callable, Iterator, Mapping

from recordings import playback
from recordings.crypto import Keyring
from recordings.storage import Storage, storage_for


class DeploymentFiles:
    def __init__(self, deployment_source: Callable, environ: Mapping[str, str] = os.environ):
        self.deployment_source = deployment_source
        self.environ = environ
        self._storage: tuple[object, Storage] | None = None

    def _where(self, record):
        deployment = self.deployment_source()
        config = (deployment.recordings_storage, deployment.recordings_dir)
        if self._storage is None or self._storage[0] != config:
            self._storage = (config, storage_for(deployment))
        keyring = Keyring.load(deployment.recordings_identities or None, self.environ)
        return self._storage[1], keyring.identity(record.key_id)

    def verify(self, record) -> None:
        storage, identity = self._where(record)
        playback.verify(storage, record.location, identity, record.sha256)

    def plaintext(self, record, start: int, end: int) -> Iterator[bytes]:
        storage, identity = self._where(record)
        return playback.plaintext(storage, record.location, identity, start, end)
