"""What the user typed, checked before anything slow runs; and files written so none is ever half-written.

Every command calls these first (``assistant/cli``): an input must be an existing, readable,
non-empty file; an output needs an existing, writable folder, a known extension, and must not be
a file the command reads (the input audio, the config, the turn log: by path, symlink or hard
link); the turn log must be a writable file. Each problem is one typed error naming the path.

``atomic_output`` writes through a temporary file in the target's own folder and renames it
over the target only when complete: an error, Ctrl-C or SIGTERM in between leaves the old file
(or none) in place, never a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from assistant.core.errors import AudioFileError, ConfigError, UsageError


def check_input(path: str | Path, what: str = "input file") -> Path:
    """An existing, readable, non-empty regular file (or a pipe/device a user points at)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise AudioFileError(f"{what} not found: {p}", "check the path") from None
    except OSError as e:
        raise AudioFileError(f"cannot open {what} {p}: {e.strerror or e}") from None
    if p.is_dir():
        raise AudioFileError(f"{what} is a directory, not a file: {p}", "name a file inside it")
    if p.is_file() and st.st_size == 0:
        raise AudioFileError(f"{what} is empty (0 bytes): {p}", "record or choose another file")
    if not os.access(p, os.R_OK):
        raise AudioFileError(f"{what} is not readable (permission denied): {p}")
    return p


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # same device and inode: the same path, a symlink or a hard link
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_writable_dir(folder: Path, target: Path, what: str) -> None:
    """``folder`` exists, is a folder, and a file can really be created in it (a read-only mount
    or a full disk fail here, not after the work; ``os.access`` says yes to root everywhere)."""
    if not folder.exists():
        raise AudioFileError(f"cannot write {what} {target}: folder {folder} does not exist",
                             "create it first, or choose another path")
    if not folder.is_dir():
        raise AudioFileError(f"cannot write {what} {target}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".assistant-probe-", dir=folder)
    except OSError as e:
        raise AudioFileError(f"cannot write {what} {target}: folder {folder} is not writable "
                             f"({e.strerror or e})", "choose a folder you can write to") from None
    os.close(fd)
    os.unlink(probe)


def check_extension(path: str | Path, formats: tuple[str, ...]) -> str:
    """The output format, from the extension; one of ``formats``."""
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext not in formats:
        raise AudioFileError(f"cannot write '{p.name}': unknown format '.{ext}'" if ext else
                             f"cannot write '{p.name}': no extension to choose the format by",
                             f"use one of: {', '.join('.' + f for f in formats)}")
    return ext


def check_output(path: str | Path, reads: Iterable[str | Path | None] = (), what: str = "output",
                 formats: tuple[str, ...] | None = None) -> Path:
    """A path the command may write: known extension (when ``formats``), writable folder, not a
    directory, and not any of the files the command ``reads``."""
    p = Path(path)
    if str(path).endswith(os.sep) or p.is_dir():
        raise AudioFileError(f"{what} {p} is a directory", "name a file, not a folder")
    for read in reads:
        if read is not None and p.exists() and _same_file(p, Path(read)):
            raise UsageError(f"{what} {p} is the same file as {read}, which this command reads; "
                             "it would be overwritten", "choose another output path")
    if formats is not None:
        check_extension(p, formats)
    check_writable_dir(p.parent if str(p.parent) else Path("."), p, what)
    return p


def default_reply_path(input_path: str | Path) -> tuple[Path, str | None]:
    """``<input stem>.reply.wav`` beside the input; in the current folder (with a notice saying
    so) when the input's folder is not writable."""
    src = Path(input_path)
    beside = src.with_name(f"{src.stem}.reply.wav")
    try:
        check_writable_dir(src.parent if str(src.parent) else Path("."), beside, "the reply")
        return beside, None
    except AudioFileError:
        here = Path.cwd() / beside.name
        return here, f"{src.parent} is not writable: the reply goes to {here}"


def check_log_path(path: str | None, reads: Iterable[str | Path | None] = ()) -> None:
    """``log.path`` must be a file the turn log can be appended to (its folder is created if
    missing, as ``TurnLog`` does), and not a file the command reads."""
    if not path:
        return
    p = Path(path)
    hint = "set log.path to a writable file, or null to disable the log"
    if p.is_dir():
        raise ConfigError([f"log.path: {p} is a directory, not a file"], hint)
    for read in reads:
        if read is not None and p.exists() and _same_file(p, Path(read)):
            raise ConfigError([f"log.path: {p} is the same file as {read}, which this command reads"], hint)
    if p.exists():
        try:
            with open(p, "a", encoding="utf-8"):
                pass
        except OSError as e:
            raise ConfigError([f"log.path: cannot append to {p}: {e.strerror or e}"], hint) from None
        return
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError([f"log.path: cannot create {p}: {parent} is a file, not a folder"], hint)
    try:
        check_writable_dir(parent, p, "the turn log")
    except AudioFileError as e:
        raise ConfigError([f"log.path: {e.message}"], hint) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; when the block ends normally, it replaces
    ``path`` in one rename. On any exception (Ctrl-C included) the temporary file is removed and
    ``path`` is untouched."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.stem[:40]}.", suffix=f".part{p.suffix}", dir=folder)
    except OSError as e:
        raise AudioFileError(f"cannot write {p}: {e.strerror or e}") from None
    os.close(fd)
    try:
        # mkstemp makes the file private (0600); give the result the mode a new file gets
        # (or the mode of the file it replaces)
        os.chmod(tmp, p.stat().st_mode & 0o7777 if p.exists() else 0o666 & ~_umask())
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    try:
        with atomic_output(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as e:
        raise AudioFileError(f"cannot write {path}: {e.strerror or e}") from None
    return Path(path)
