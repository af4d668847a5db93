"""Install a lookup table so Postfix never sees half of it.

Text tables (regexp, pcre, cidr, texthash) are one atomic write.  Indexed tables are built the
safe way: the new source goes to a temp file in the same directory, ``postmap`` builds the
temp's index there, the index is renamed over the live one, then the source over its own.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from pfwizard.engine.atomic import AtomicWriter, FileMeta, fsync_dir
from pfwizard.engine.changeset import INDEX_SUFFIX
from pfwizard.engine.errors import StepFailed
from pfwizard.engine.pftools import PostfixTools, warning_lines


def install_indexed(
    writer: AtomicWriter,
    tools: PostfixTools,
    config_dir: Path,
    path: Path,
    data: bytes,
    map_type: str,
    meta: FileMeta,
    index_meta: FileMeta | None,
) -> str:
    """Write ``path`` and rebuild its index; returns postmap's output."""
    suffix = INDEX_SUFFIX[map_type]
    tmp = writer.write_temp(path, data, meta)
    tmp_index = tmp.with_name(tmp.name + suffix)
    try:
        res = tools.postmap(config_dir, map_type, tmp)
        if not res.ok or not tmp_index.exists():
            raise StepFailed(
                "postmap", f"postmap {map_type}:{path} failed (exit {res.returncode})", res.output
            )
        im = index_meta or meta
        os.chown(tmp_index, im.uid, im.gid)
        os.chmod(tmp_index, im.mode)
        fd = os.open(tmp_index, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if writer.before_rename is not None:  # both checked before either is replaced
            writer.before_rename(path.with_name(path.name + suffix))
            writer.before_rename(path)
        os.replace(tmp_index, path.with_name(path.name + suffix))
        os.replace(tmp, path)
        fsync_dir(path.parent)
        return "\n".join(warning_lines(res))
    finally:
        for p in (tmp, tmp_index, tmp.with_name("__db." + tmp_index.name)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
