"""Safe file handling shared by every writer and reader of calolib: nothing lost, no half files.

* :func:`check_input_file` refuses a missing path, a directory, a FIFO, a socket or a device *before*
  anything opens it (opening a FIFO with no writer blocks forever).
* :func:`check_output_file` refuses an existing target unless ``force=True``, refuses always a target that
  is one of the command's inputs (same path, symlink or hard link: the same inode), a directory or a
  special file, and checks that the directory can be written (by creating and removing a probe file,
  which also works for root, whom permission bits do not stop).
* :func:`atomic_write` writes through a hidden temporary ``.NAME.tmp-PID`` in the target's directory,
  fsyncs and renames it into place; on any failure (a full disk, a signal) the temporary is removed.
  :func:`remove_stale_temps` deletes the temporaries that a ``kill -9`` left behind.
* :func:`ensure_space` checks free disk space (and the ``RLIMIT_FSIZE`` file size limit) before a write,
  so a write stops with one clear line instead of failing inside a library (HDF5 may crash when a write
  fails on a full disk).
* :func:`os_error_message` turns an :class:`OSError` into one line (full disk, read-only file system,
  permission, ...).

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_bytes(d / "a.txt", b"hi"); (d / "a.txt").read_text()
    'hi'
    >>> check_output_file(d / "a.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    calolib.errors.OutputError: .../a.txt already exists; pass --force to replace it, or choose another output path
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from calolib.errors import OutputError, ShowerFileError

__all__ = [
    "temp_path",
    "atomic_write",
    "atomic_write_bytes",
    "remove_stale_temps",
    "check_input_file",
    "check_output_file",
    "ensure_space",
    "free_bytes",
    "os_error_message",
    "pid_alive",
]

_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)$")
#: bytes kept free beyond a write's own size (HDF5 metadata, checkpoint headers)
SPACE_MARGIN = 4 * 2**20


def temp_path(path: str | os.PathLike) -> Path:
    """The hidden temporary ``DIR/.NAME.tmp-PID`` a write to ``path`` goes through.

    Example:
        >>> temp_path("/r/last.pt").name.startswith(".last.pt.tmp-")
        True
    """
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (a zombie counts as gone).

    Example:
        >>> pid_alive(os.getpid())
        True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pragma: no cover - platforms without signals
        return True
    try:  # a zombie (killed, not yet reaped) holds no files any more
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def os_error_message(exc: OSError, what: str | os.PathLike | None = None) -> str:
    """One line for an OSError: what failed, the system's reason and what to do.

    Example:
        >>> os_error_message(OSError(errno.ENOSPC, "No space left on device"), "out.h5")
        'cannot write out.h5: the disk is full (No space left on device); free some space or write elsewhere'
    """
    target = what if what is not None else (exc.filename or "a file")
    reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    hints = {
        errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
        errno.EFBIG: "the file size limit (ulimit -f) is reached", errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
    }
    if exc.errno in hints:
        reason = os.strerror(exc.errno)  # HDF5 puts a whole report into strerror
        fix = "free some space or write elsewhere" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) \
            else "choose a directory you can write to"
        return f"cannot write {target}: {hints[exc.errno]} ({reason}); {fix}"
    if exc.errno == errno.ENOTDIR:
        return f"{target}: a parent of this path is a file, not a directory ({reason}); choose another path"
    if exc.errno == errno.EISDIR:
        return f"{target} is a directory ({reason}); give a file path"
    if exc.errno == errno.ENOMEM:
        return f"out of memory ({reason}); use fewer events or a smaller batch"
    return f"{target}: {reason}"


# ------------------------------------------------------------------------------------------ atomic writes
def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Write a file atomically: ``write(fh)`` into a temp file in the same directory, flush, fsync, rename.

    If ``write`` fails midway (an exception, a full disk, a signal turned into an exception) the target is
    untouched and the temporary file is removed.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"; atomic_write(p, lambda fh: fh.write(b"hi")); p.read_text()
        'hi'
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """:func:`atomic_write` of a bytes payload.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"; atomic_write_bytes(p, b"hi"); p.read_text()
        'hi'
    """
    atomic_write(path, lambda fh: fh.write(data))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def remove_stale_temps(directory: str | os.PathLike, *, name: str | None = None, min_age_s: float = 0.0) -> list[Path]:
    """Delete ``.NAME.tmp-PID`` files in ``directory`` whose writing process is gone; returns them.

    Args:
        name: only temporaries of this target name (default: every target).
        min_age_s: only files not modified for this long (a writer on another host sharing the directory
            has a PID this host cannot see, but keeps its file fresh).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / ".a.h5.tmp-999999999").write_bytes(b"x")
        >>> [p.name for p in remove_stale_temps(d)], list(d.iterdir())
        (['.a.h5.tmp-999999999'], [])
    """
    directory = Path(directory)
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    now = time.time()
    for p in entries:
        m = _TEMP_RE.match(p.name)
        if not m or (name is not None and m["name"] != name):
            continue
        pid = int(m["pid"])
        if pid == os.getpid() or pid_alive(pid):
            continue
        try:
            if min_age_s and now - p.lstat().st_mtime < min_age_s:
                continue
            if p.is_file() or p.is_symlink():
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


# ------------------------------------------------------------------------------------------ checks
def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return word
    return "not a regular file"


def check_input_file(path: str | os.PathLike, what: str = "file", *, error: type = ShowerFileError,
                     missing_hint: str = "") -> Path:
    """``path`` as a Path if it is an existing, regular, readable file; ``error`` (one line) otherwise.

    Nothing is opened, so a FIFO without a writer cannot block.

    Example:
        >>> check_input_file("/dev/null", "shower file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        calolib.errors.ShowerFileError: /dev/null is a character device; the shower file must be a regular file (...)
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        if p.is_symlink():
            raise error(f"{p} is a dangling symbolic link (its target {os.readlink(p)} does not exist)") from None
        raise error(f"{what} not found: {p}" + (f"; {missing_hint}" if missing_hint else "")) from None
    except OSError as exc:
        raise error(f"cannot access {what} {p}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        hint = "give the path of a file inside it" if stat.S_ISDIR(st.st_mode) else "give a regular file"
        raise error(f"{p} is {_kind(st.st_mode)}; the {what} must be a regular file ({hint})")
    if not os.access(p, os.R_OK):
        raise error(f"{what} {p} is not readable (permission denied); check its permissions")
    return p


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _probe_writable(directory: Path) -> None:
    """Create and remove a probe file in ``directory`` (the only test that also holds for root)."""
    probe = directory / f".calolib-probe.tmp-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        probe.unlink(missing_ok=True)
        return _probe_writable(directory)
    os.close(fd)
    probe.unlink(missing_ok=True)


def check_output_file(path: str | os.PathLike, *, force: bool = False, inputs: Iterable[str | os.PathLike] = (),
                      what: str = "output file") -> Path:
    """Refuse a target that would lose data or cannot be written; returns ``path`` as a Path.

    Refused always: a target that is one of ``inputs`` (same inode), a directory or special file, a
    directory that cannot be written.  Refused unless ``force``: an existing file.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); p = d / "m.pt"; _ = p.write_bytes(b"x")
        >>> check_output_file(p, force=True, inputs=[p])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        calolib.errors.OutputError: ...m.pt is also an input of this command (...); writing it would destroy the input, ...
    """
    p = Path(path)
    if str(path) == "":
        raise OutputError("the output path is empty; give a file path")
    for src in inputs:
        if src is not None and (p.exists() and _same_file(p, Path(src))):
            raise OutputError(f"{p} is also an input of this command ({src}); writing it would destroy the input, "
                              "choose another output path")
    try:
        st = p.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(os_error_message(exc, p)) from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{p} is {_kind(st.st_mode)}; give a file path for the {what}")
        if not force:
            raise OutputError(f"{p} already exists; pass --force to replace it, or choose another output path")
    elif p.is_symlink():
        raise OutputError(f"{p} is a dangling symbolic link; remove it or choose another output path")
    parent = p.parent
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot create {p}: {existing} is a file, not a directory; choose another output path")
    try:
        _probe_writable(existing)
    except OSError as exc:
        raise OutputError(os_error_message(exc, f"{p} (directory {existing})")) from None
    return p


# ------------------------------------------------------------------------------------------ disk space
def free_bytes(directory: str | os.PathLike) -> int | None:
    """Free bytes for unprivileged writes on the file system of ``directory`` (None if unknown)."""
    try:
        return int(shutil.disk_usage(directory).free)
    except OSError:
        return None


def _fsize_limit() -> int | None:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - non-POSIX
        return None
    return None if soft == resource.RLIM_INFINITY else int(soft)


def ensure_space(path: str | os.PathLike, n_bytes: int, *, current_size: int = 0, what: str | None = None) -> None:
    """Raise :class:`OutputError` (a full-disk line) unless ``n_bytes`` more (plus a margin) can be written.

    ``path`` is the file being written (its directory is checked); ``current_size`` its size so far, for
    the file size limit ``ulimit -f``.

    Example:
        >>> ensure_space("/tmp/x.h5", 1)
        >>> ensure_space("/tmp/x.h5", 2**62)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        calolib.errors.OutputError: cannot write /tmp/x.h5: the disk is full ...
    """
    p = Path(path)
    label = what or str(p)
    free = free_bytes(p.parent if p.parent.exists() else Path.cwd())
    need = int(n_bytes) + SPACE_MARGIN
    if free is not None and free < need:
        raise OutputError(f"cannot write {label}: the disk is full (about {need / 1e6:.0f} MB more needed, "
                          f"{free / 1e6:.0f} MB free in {p.parent}); free some space or write elsewhere")
    limit = _fsize_limit()
    if limit is not None and current_size + int(n_bytes) + 2**20 > limit:
        raise OutputError(f"cannot write {label}: the file size limit (ulimit -f, {limit / 1e6:.1f} MB) would be "
                          "exceeded; raise the limit or write less")


def host_name() -> str:
    """This machine's host name (for lock files)."""
    return socket.gethostname()


def __dir__():
    return __all__
