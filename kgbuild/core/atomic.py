"""Outputs: what a run may write over, and how. One place for the rules every command's output goes through:

- an output path that overlaps an input path (the same, inside it, or holding it) is refused;
- an existing folder is replaced only with --force, and only when kgbuild wrote it (our marker or manifest.json);
- a run writes into a hidden sibling `.OUT.tmp-PID-XXXXXXXX/` and renames it into place only when complete;
- temporary folders left by a killed run (its pid is dead, the folder carries our marker) are removed by the next
  run on the same output; a swap interrupted half-way is rolled back to the previous output.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kgbuild.core.errors import UserError
from kgbuild.core.events import Event, Reporter, silent

# Written first into every temporary folder: while the run lives it is its lock (pid, host); once renamed into place
# it marks the folder as kgbuild's own, so a later --force may replace it.
MARKER = ".kgbuild-output"
# Earlier outputs carry no marker: a manifest.json written by kgbuild, or a finished trainer phase, also proves it.
_OWN_FILES = ("manifest.json", "trainer_phase.json")
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}$")


def absolute(path: str | Path) -> Path:
    """An absolute, normalised path (`.` and `..` resolved textually): `--out .` has a name and a parent."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def check_overlap(out: Path, inputs: Mapping[str, Path | None], *, option: str = "--out") -> None:
    """Refuse an output that is an input, lies inside one, or holds one: replacing it could delete the input."""
    target = Path(os.path.realpath(absolute(out)))
    for input_option, path in inputs.items():
        if path is None:
            continue
        source = Path(os.path.realpath(absolute(path)))
        if target == source:
            how = f"is the same path as the input {input_option}"
        elif source in target.parents:
            how = f"is inside the input {input_option} {path}"
        elif target in source.parents:
            how = f"holds the input {input_option} {path}"
        else:
            continue
        raise UserError(
            f"{option} {how}; writing there could delete or change the input",
            path=out,
            fix=f"give {option} a folder outside {path}",
        )


def owned(folder: Path) -> bool:
    """True when kgbuild wrote `folder`: it holds our marker, a kgbuild manifest.json or a finished trainer phase."""
    folder = Path(folder)
    if (folder / MARKER).is_file():
        return True
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(doc, dict) and "command" in doc and "kgbuild" in (doc.get("versions") or {})
    return (folder / "trainer_phase.json").is_file() and (folder / "modules.json").is_file()


def check_output(
    out: str | Path,
    *,
    force: bool,
    inputs: Mapping[str, Path | None] | None = None,
    option: str = "--out",
    report: Reporter = silent,
) -> Path:
    """Everything atomic_dir refuses, checked before any work; returns `out` as an absolute path.

    An empty folder may be written into; a non-empty one needs --force and must be kgbuild's own output. `report`
    hears what a killed earlier run left beside `out` and this check removed.
    """
    out = absolute(out)
    check_overlap(out, inputs or {}, option=option)
    _sweep_stale(out, report)
    if out.is_symlink():
        raise UserError(
            f"{option} is a symbolic link; kgbuild replaces folders, not links",
            path=out,
            fix=f"give {option} the folder the link points to, or another path",
        )
    if out.exists() and not out.is_dir():
        raise UserError(
            f"{option} exists and is a file, not a folder",
            path=out,
            fix=f"give {option} a folder path (it is created), not an existing file",
        )
    if out.is_dir() and any(out.iterdir()):
        if not owned(out):
            raise UserError(
                f"{option} exists and was not written by kgbuild (no manifest.json or {MARKER} in it), "
                "so it is never replaced, even with --force",
                path=out,
                fix=f"choose another {option}, or empty or remove that folder yourself",
            )
        if not force:
            raise UserError(
                f"{option} already exists (an earlier kgbuild output)",
                path=out,
                fix=f"pass --force to replace it, or choose another {option}",
            )
    for parent in (out.parent, *out.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise UserError(
                    f"cannot create {option}: {parent} is a file",
                    path=out,
                    fix=f"choose an {option} whose parent is a folder",
                )
            if not _can_write(parent):
                raise UserError(
                    f"cannot write in {parent} (permission denied)",
                    path=out,
                    fix=f"choose an {option} in a folder you can write to",
                )
            break
    return out


def _can_write(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


@contextmanager
def temp_dir(near: str | Path, *, report: Reporter = silent) -> Iterator[Path]:
    """A hidden folder beside `near` (same file system), locked by this process, removed when the block ends."""
    near = absolute(near)
    _sweep_stale(near, report)
    tmp = _make_temp(near)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# Write failures that are the machine's state, not a bug: one line, the output left as it was.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_CANNOT_WRITE = _FULL | {errno.EROFS, errno.EACCES, errno.EPERM}


@contextmanager
def write_errors(out: str | Path) -> Iterator[None]:
    """A full disk, a read-only file system or a folder without write permission, met while writing `out`, becomes
    one line naming it (the caller has already put back what it had)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _CANNOT_WRITE:
            raise
        raise UserError(
            f"cannot write the output ({exc.strerror}); nothing was replaced",
            path=out,
            fix="free space on its disk, then rerun" if exc.errno in _FULL else "choose a folder you can write to",
        ) from None


@contextmanager
def atomic_dir(
    out: str | Path,
    *,
    force: bool,
    inputs: Mapping[str, Path | None] | None = None,
    option: str = "--out",
    report: Reporter = silent,
) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; on success it replaces `out`, on any error (Ctrl-C too) it is removed.

    `inputs` maps an option name to the path it gave (checked for overlap with `out`). A previous `out` is left
    untouched unless the run succeeds, and is replaced only with `force` and when kgbuild wrote it. `report` hears
    what a killed earlier run left beside `out` and this one removed (an "info" event).
    """
    out = check_output(out, force=force, inputs=inputs, option=option, report=report)
    tmp = _make_temp(out)  # check_output has just swept what dead runs left
    with write_errors(out):
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # first: the space it held is given back
            raise
    old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if out.is_dir() and (not any(out.iterdir()) or absolute(os.getcwd()) == out):
        # `--out .`: the folder a shell stands in is filled in place, so that shell sees the new files (a renamed
        # folder would leave it in a deleted one). The previous files move aside first, manifest first; the new ones
        # come in marker first and manifest last, so a half-done swap is still ours and visibly incomplete.
        previous = sorted((p.name for p in out.iterdir()), key=lambda n: (n != "manifest.json", n == MARKER))
        if previous:
            old.mkdir()
            for name in previous:
                os.rename(out / name, old / name)
        for name in sorted((p.name for p in tmp.iterdir()), key=lambda n: (n != MARKER, n == "manifest.json")):
            os.rename(tmp / name, out / name)
        tmp.rmdir()
    elif out.exists():
        os.rename(out, old)
        os.rename(tmp, out)
    else:
        os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _make_temp(out: Path) -> Path:
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        (tmp / MARKER).write_text(json.dumps(_lock()), encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(
            f"cannot create a folder beside {out.name} ({exc.strerror})",
            path=out.parent,
            fix="choose an output in a folder you can write to, on a disk with free space",
        ) from None
    return tmp


def _lock() -> dict[str, object]:
    from kgbuild import __version__

    return {
        "tool": "kgbuild",
        "version": __version__,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return True
    return True


def _stale_and_ours(folder: Path, kind: str, pid: int) -> bool:
    """Provably left by a dead kgbuild run on this host: its pid is gone and the folder carries our marker."""
    if pid == os.getpid() or _pid_alive(pid):
        return False
    marker = folder / MARKER
    if marker.is_file():
        try:
            host = json.loads(marker.read_text(encoding="utf-8")).get("host")
        except (OSError, ValueError, AttributeError):
            return False
        # A pid says nothing about a run on another machine sharing this folder.
        return kind == "old" or host in (None, socket.gethostname())
    if kind == "old":
        return owned(folder)
    return not any(folder.iterdir())  # killed between mkdir and the marker write


def _sweep_stale(out: Path, report: Reporter = silent) -> list[Path]:
    """Remove the temporary folders that dead runs left beside `out`; roll back a swap killed half-way."""
    parent = out.parent
    if not parent.is_dir():
        return []
    found = []
    try:
        entries = sorted(parent.iterdir(), key=lambda p: (".old-" not in p.name, p.name))
    except OSError:
        return []
    for entry in entries:
        match = _TEMP.match(entry.name)
        if not match or match["name"] != out.name or entry.is_symlink() or not entry.is_dir():
            continue
        if not _stale_and_ours(entry, match["kind"], int(match["pid"])):
            continue
        if match["kind"] == "old" and not out.exists():
            os.rename(entry, out)  # killed between moving the old output away and moving the new one in
        else:
            shutil.rmtree(entry, ignore_errors=True)
        found.append(entry)
    if found:
        names = [p.name for p in found]
        text = f"cleaned up {len(found)} temporary folder(s) left beside {out} by a run that was killed: "
        report(Event("info", "output", text + ", ".join(names), data={"output": str(out), "removed": names}))
    return found


def check_file_output(
    out: str | Path, *, force: bool, inputs: Mapping[str, Path | None] | None = None, option: str = "--out"
) -> Path:
    """The rules of an output file, checked before any work: not an input, nor inside one (an index folder, a
    mention file); an existing file is replaced only with --force; its folder exists and can be written."""
    out = absolute(out)
    target = Path(os.path.realpath(out))
    for input_option, path in (inputs or {}).items():
        if path is None:
            continue
        source = Path(os.path.realpath(absolute(path)))
        if target == source or source in target.parents:
            how = "is the input" if target == source else "is inside the input"
            raise UserError(
                f"{option} {how} {input_option} {path}; writing there would change the input",
                path=out,
                fix=f"give {option} a file outside {path}",
            )
    if out.is_dir():
        raise UserError(f"{option} is a folder", path=out, fix=f"give {option} a file name")
    if not out.parent.is_dir():
        raise UserError(f"the folder of {option} does not exist", path=out, fix="create it first, or choose another")
    if not _can_write(out.parent):
        raise UserError(f"cannot write into the folder of {option}", path=out, fix="choose a folder you can write to")
    if out.exists() and not force:
        raise UserError(f"{option} exists", path=out, fix="pass --force to replace it, or choose another file")
    return out


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file through a temporary name in the same folder, fsync, then rename. A full disk or a folder that
    cannot be written is one line naming the file; the previous file, if any, is left as it was."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with write_errors(path):
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
