"""One training per run directory: the ``RUN_DIR/train.lock`` lock and the ``train`` decorator that holds it.

:class:`RunDirLock` takes an exclusive ``flock`` on ``RUN_DIR/train.lock`` (the kernel releases it when the
process dies, so a stale lock file left by ``kill -9`` never blocks) and writes the PID, host and start
time into it for the message a second training prints.  Where ``flock`` is missing, a lock whose PID is
dead on this host is taken over.  :func:`guarded_run_dir` wraps :func:`calolib.training.train`: lock,
remove the hidden temporaries of dead writers, call, release (and remove a directory the call created but
left empty).

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with RunDirLock(d) as lock:
    ...     lock.info()["pid"] == os.getpid(), (d / "train.lock").exists()
    (True, True)
    >>> (d / "train.lock").exists()
    False
"""
from __future__ import annotations

import functools
import inspect
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from calolib.errors import RunDirError
from calolib.io.files import host_name, os_error_message, pid_alive, remove_stale_temps

__all__ = ["LOCK_NAME", "RunDirLock", "guarded_run_dir"]

LOCK_NAME = "train.lock"

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: PID-based locking only
    fcntl = None


def __dir__():
    return __all__


# ------------------------------------------------------------------------------------------ the lock
class RunDirLock:
    """Exclusive lock on a run directory (created if needed); a second holder gets :class:`RunDirError`.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with RunDirLock(d):
        ...     RunDirLock(d).acquire()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        calolib.errors.RunDirError: run directory ... is in use by another training (PID ...
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    def info(self) -> dict:
        """What the lock file says (pid, host, started), or ``{}``."""
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def _refuse(self) -> None:
        info = self.info()
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["started"])) if "started" in info else "?"
        raise RunDirError(f"run directory {self.run_dir} is in use by another training (PID {info.get('pid', '?')} "
                          f"on {info.get('host', '?')}, since {since}); wait for it to finish or choose another --out "
                          f"(if that process is gone, delete {self.path})")

    def acquire(self) -> "RunDirLock":
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(os_error_message(exc, f"run directory {self.run_dir}")) from None
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise RunDirError(os_error_message(exc, f"run directory {self.run_dir}")) from None
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    self._refuse()
                except OSError:  # a file system without flock: fall back to the PID check
                    if not self._pid_lock_free():
                        os.close(fd)
                        self._refuse()
            elif not self._pid_lock_free():  # pragma: no cover
                os.close(fd)
                self._refuse()
            try:  # the file we locked must still be the one at the path (not unlinked by a releasing holder)
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            payload = json.dumps({"pid": os.getpid(), "host": host_name(), "started": time.time()}).encode()
            try:
                os.ftruncate(fd, 0)
                os.write(fd, payload)
                os.fsync(fd)
            except OSError as exc:
                os.close(fd)
                raise RunDirError(os_error_message(exc, self.path)) from None
            self._fd = fd
            return self
        raise RunDirError(f"could not lock {self.path} (it keeps changing); is another training starting there?")

    def _pid_lock_free(self) -> bool:
        info = self.info()
        if not info:
            return True
        if info.get("host") != host_name():
            return False  # cannot tell whether a process on another host lives
        return info.get("pid") == os.getpid() or not pid_alive(int(info.get("pid", 0)))

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # unlink while still holding it: see the inode check in acquire
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "RunDirLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _only_lock_left(run_dir: Path) -> bool:
    try:
        return all(p.name == LOCK_NAME for p in run_dir.iterdir())
    except OSError:
        return False


def guarded_run_dir(func: Callable) -> Callable:
    """Decorator of ``train(config, data_path, out_dir, ...)``: the run directory is checked and locked
    for the call, stale temporaries are removed, and a directory this call created is removed again if
    the call fails before writing anything into it."""
    sig = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if int(os.environ.get("RANK", "0") or 0) > 0:  # [ddp] under torchrun rank 0 alone locks, cleans and writes
            return func(*args, **kwargs)
        out_dir = Path(sig.bind(*args, **kwargs).arguments["out_dir"])
        if out_dir.exists() and not out_dir.is_dir():
            raise RunDirError(f"--out {out_dir} is a file, not a run directory; choose a directory path")
        created = not out_dir.exists()
        lock = RunDirLock(out_dir).acquire()
        ok = False
        try:
            remove_stale_temps(out_dir)
            result = func(*args, **kwargs)
            ok = True
            return result
        finally:
            lock.release()
            if not ok and created and _only_lock_left(out_dir):
                shutil.rmtree(out_dir, ignore_errors=True)

    return wrapper
