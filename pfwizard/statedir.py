"""The state directory (``/var/lib/pfwizard``) holds root's backups, the journal that crash
recovery replays as root, and customizations.yaml that ``restore`` writes back as root.
Whoever can write there can make root write files of their choosing, so pfwizard uses it only
when it is root's own:

- the directory and everything pfwizard keeps in it (``journal/`` and its entries,
  ``customizations.yaml``, ``lock``) are real directories or regular files, never symbolic
  links, owned by root (or by the user running pfwizard, when that is not root), and
  writable by nobody else (no group or other write bit);
- its parent directory is not writable by everyone without the sticky bit, and is owned by
  root (or that user): otherwise another user could swap the state directory away.
  The directories above the parent are the administrator's business, like ``/var/lib``.

pfwizard creates the directory itself mode 0700.  Files are read through ``read_private``
(no symlink followed on the way, regular files only, size-limited), so a file swapped after
the check is still never trusted.

Kept free of the engine's imports: ``pfwizard check`` uses it too.
"""

from __future__ import annotations

import errno
import os
import pwd
import re
import stat
from pathlib import Path

from pfwizard.errors import PfwizardError

ENTRY_LIMIT = 16 * 1024 * 1024
"""Largest entry.json, diff or customizations.yaml pfwizard reads from the state directory."""
BACKUP_LIMIT = 64 * 1024 * 1024
"""Largest file pfwizard backs up (and so changes): its copy is read whole into memory."""


class UnsafeStateDir(PfwizardError):
    """The state directory could be turned against root: nothing is read from it or written."""


class NoAccess(UnsafeStateDir):
    """The state directory cannot be read by this user (pfwizard run without sudo)."""


class StateDirError(PfwizardError):
    """Writing into the state directory failed (no space left, I/O error, read-only)."""


def trusted_uids() -> set[int]:
    return {0, os.geteuid()}


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def problem(path: Path, st: os.stat_result, want_dir: bool | None) -> str | None:
    """Why ``path`` (lstat ``st``) cannot be trusted, or None.  ``want_dir`` None: a
    directory or a regular file."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return f"{path} is a symbolic link"
    if want_dir is True and not stat.S_ISDIR(mode):
        return f"{path} is not a directory"
    if want_dir is False and not stat.S_ISREG(mode):
        return f"{path} is not a regular file"
    if want_dir is None and not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        return f"{path} is neither a directory nor a regular file"
    if st.st_uid not in trusted_uids():
        return f"{path} is owned by {_owner(st.st_uid)}, not root"
    if mode & 0o022:
        return f"{path} is writable by group or others (mode {stat.S_IMODE(mode):04o})"
    return None


def _refuse(state_dir: Path, why: str) -> UnsafeStateDir:
    return UnsafeStateDir(
        f"refusing to use the state directory {state_dir}: {why}; root's backups and journal "
        "live there, so it must be a real directory owned by root and writable only by root "
        "(fix it, or choose another --state-dir)"
    )


def _no_access(state_dir: Path, exc: OSError) -> UnsafeStateDir:
    return NoAccess(
        f"cannot read the state directory {state_dir}: "
        f"{(exc.strerror or str(exc)).lower()}; run it as root: "
        "sudo pfwizard ..."
    )


def _check_parent(state_dir: Path) -> None:
    parent = Path(os.path.abspath(state_dir)).parent
    try:
        st = os.stat(parent)
    except OSError:
        return  # the state directory's own lstat reports it
    mode = st.st_mode
    if mode & 0o002 and not mode & stat.S_ISVTX:
        raise _refuse(state_dir, f"its parent directory {parent} is writable by everyone")
    if st.st_uid not in trusted_uids() and mode & 0o200:
        raise _refuse(
            state_dir,
            f"its parent directory {parent} is owned by {_owner(st.st_uid)}, who could replace it",
        )


def verify(state_dir: Path, contents: bool = True) -> bool:
    """Raise UnsafeStateDir unless ``state_dir`` (when it exists) and what pfwizard keeps in
    it can be trusted.  Returns whether it exists."""
    state_dir = Path(state_dir)
    try:
        st = os.lstat(state_dir)
    except FileNotFoundError:
        _check_parent(state_dir)
        return False
    except OSError as exc:
        raise _no_access(state_dir, exc) from None
    _check_parent(state_dir)
    why = problem(state_dir, st, True)
    if why:
        raise _refuse(state_dir, why)
    if not contents:
        return True
    try:
        top = list(os.scandir(state_dir))
        for item in top:
            path = Path(item.path)
            known = {"journal": True, "customizations.yaml": False, "lock": False}
            why = problem(path, item.stat(follow_symlinks=False), known.get(item.name))
            if why:
                raise _refuse(state_dir, why)
            if item.name == "journal":
                _walk(state_dir, path)
    except PermissionError as exc:
        raise _no_access(state_dir, exc) from None
    return True


def _walk(state_dir: Path, directory: Path) -> None:
    """Everything under journal/: directories and regular files, root's, not writable by
    others (an entry planted by another user is never replayed)."""
    for item in os.scandir(directory):
        path = Path(item.path)
        st = item.stat(follow_symlinks=False)
        why = problem(path, st, None)
        if why:
            raise _refuse(state_dir, why)
        if stat.S_ISDIR(st.st_mode):
            _walk(state_dir, path)


def ensure(state_dir: Path) -> None:
    """Create the state directory (0700, root's) if needed, then ``verify`` it."""
    state_dir = Path(state_dir)
    _check_parent(state_dir)
    try:
        os.makedirs(state_dir.parent, mode=0o755, exist_ok=True)
        os.mkdir(state_dir, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise failure(exc, state_dir, "creating it") from None
    verify(state_dir)


def failure(exc: OSError, state_dir: Path, doing: str) -> PfwizardError:
    """One line naming the directory: "no space left on device in /var/lib/pfwizard: ..."."""
    import shutil

    what = (exc.strerror or str(exc)).lower()
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        # copytree's error: a list of (source, destination, "[Errno 28] No space left...")
        first = str(exc.args[0][0][2]) if exc.args[0] else ""
        found = re.match(r"\[Errno (\d+)\] ([^:]+)", first)
        if found:
            what = found.group(2).lower()
            exc = OSError(int(found.group(1)), found.group(2))
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UnsafeStateDir(
            f"cannot write the state directory {state_dir} ({what}): run pfwizard with sudo"
        )
    return StateDirError(f"{what} in {state_dir}: {doing} failed")


def read_private(state_dir: Path, *parts: str, limit: int = ENTRY_LIMIT) -> bytes:
    """The bytes of ``state_dir/parts...``: no symbolic link followed on the way, each
    directory and the file root's and not writable by others, a regular file of at most
    ``limit`` bytes.  OSError (FileNotFoundError when absent) or UnsafeStateDir otherwise."""
    flags_dir = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(state_dir, flags_dir)
    try:
        where = Path(state_dir)
        for i, part in enumerate(parts):
            if part in ("", ".", "..") or "/" in part:
                raise UnsafeStateDir(f"{where}: {part!r} is not a plain file name")
            last = i == len(parts) - 1
            flags = (
                os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK if last else flags_dir
            )
            try:
                nfd = os.open(part, flags, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and not last):
                    raise UnsafeStateDir(
                        f"{where / part} is a symbolic link or not a directory"
                    ) from None
                raise
            os.close(fd)
            fd = nfd
            where = where / part
            why = problem(where, os.fstat(fd), not last)
            if why:
                raise UnsafeStateDir(why)
        size = os.fstat(fd).st_size
        if size > limit:
            raise UnsafeStateDir(f"{where} is larger than {limit // (1024 * 1024)} MiB")
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise UnsafeStateDir(f"{where} is larger than {limit // (1024 * 1024)} MiB")
        return data
    finally:
        os.close(fd)
