"""``lobs import --track``: make an imported folder a target whose last sync is the archive.

The folder is added to lobs.yml (if it is not a target already), the
archive's manifest is cached under its id and recorded in lobs.lock as the
target's last-synced snapshot on the target's remote, and every imported file
is entered in the index with the hash the archive proved, so the next
``lobs status`` or ``lobs push`` does not read the files again.

The recorded snapshot is the archive's own manifest id. It need not exist on
the remote: a push to a remote that has nothing for the target simply sends
everything; one whose latest snapshot holds the same tree is recognised as up
to date; one that holds something else is a conflict, as for any push.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lobs import api
from lobs import manifest as mf
from lobs.errors import ConfigError
from lobs.index import Index
from lobs.model import Manifest
from lobs.scan import LocalFile
from lobs.syncstate import SyncState


def track_import(ctx: api.Context, dest: Path, m: Manifest, remote: str | None) -> str:
    """Register ``dest`` as a target synced to ``m``. Returns the target path.

    Raises ConfigError when there is no project or ``dest`` lies outside it.
    """
    cfg = ctx.config()
    assert cfg.root is not None
    rel = os.path.relpath(os.path.abspath(dest), cfg.root).replace(os.sep, "/")
    if rel == "." or rel.startswith("../"):
        raise ConfigError(f"{dest} is not inside the project at {cfg.root}", "import into a folder of the project")
    if rel not in {t.path for t in cfg.targets}:
        from lobs import config_edit  # (ruamel: imported when lobs.yml is edited)

        rel = config_edit.track(cfg.root, ctx.env, rel, remote=remote, remote_path=None)
    ws = api.workspaces(ctx, [rel], remote)[0]
    snap, packed = mf.pack(m, level=3)
    ws.cache_manifest(snap, m, packed=packed)
    index = Index(ws.index_path)
    for e in m.entries:
        if e.link is not None:
            continue
        st = os.lstat(ws.root / e.path)
        if not stat.S_ISREG(st.st_mode):
            continue
        f = LocalFile.from_stat(e.path, st)
        index.record(f, m.hash, e.hash)
    index.save()
    ws.set_base(SyncState(ws.remote_name, snap, len(m.entries), m.total_size))
    return rel
