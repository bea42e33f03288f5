"""A year's outputs published as one step (SPEC §13 rev. 2 Consistency, issue 14).

Every writer (ingest, classify, export, run) writes into generation folders beside the year's own:
data/processed/.<year>.gen-<id>/ and data/exports/.<year>.gen-<id>/, begun as hard-link copies of
the current folders (files are only ever replaced by rename, never changed in place, so a link is
a safe copy). `generation()` then publishes them:

1. the journal data/processed/.publish-<year>.json (written by atomic_write) names each pair of
   folders: this is the commit point;
2. per folder, exports first and processed (which holds run_manifest.json) last: on Linux the
   generation folder and the year folder are exchanged in one step (a reader never finds the year
   folder missing) and the previous one renamed aside (.<year>.old-<id>); elsewhere the year folder
   is renamed aside first, then the generation folder to the year's name;
3. the journal is removed, then the folders put aside are deleted.

A writer killed before step 1 leaves the year's folders as they were; `recover()`, which every
writing command runs under the workspace lock before it starts (run.prepare), deletes the
unpublished generation folders. Killed after step 1, `recover()` completes step 2 from the journal
(roll forward) and deletes the journal. So after a kill and the next writer's start, the files
run_manifest.json lists are exactly the files on disk; readers opening one folder see it all-old or
all-new. No step renames a folder onto an existing one, so the scheme works on Windows too (which
cannot replace a folder by rename and has no exchange), except that a folder holding a file some program has open
cannot be renamed there: the publish stops with exit 2 and the journal finishes it next time.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from landaudit.errors import LandauditError, OutputError
from landaudit.workspace import Workspace, write_json

MANIFEST = "run_manifest.json"


@dataclass(frozen=True, eq=False)
class StagedWorkspace(Workspace):
    """A workspace whose staged year folders are generation folders until published. `relative()`
    names a staged file by its final path (reports and manifests record where files will be)."""

    base: Workspace | None = None
    folders: dict[Path, Path] = field(default_factory=dict)          # final folder → generation folder
    after: list[Callable[[], None]] = field(default_factory=list)    # run once published
    state: dict = field(default_factory=dict)

    def processed_year(self, year: int) -> Path:
        final = super().processed_year(year)
        return self.folders.get(final, final)

    def exports_year(self, year: int) -> Path:
        final = super().exports_year(year)
        return self.folders.get(final, final)

    def final(self, path: Path) -> Path:
        """Where a file written into a generation folder will be once published."""
        absolute = Path(os.path.abspath(path))
        for final, staged in self.folders.items():
            if absolute == staged or staged in absolute.parents:
                return final / absolute.relative_to(staged)
        return absolute

    def relative(self, path: Path) -> str:
        return super().relative(self.final(path))

    def after_publish(self, action: Callable[[], None]) -> None:
        self.after.append(action)

    def stage(self, final: Path) -> None:
        if final not in self.folders:
            self.folders[final] = _copy_of(final)


def final_path(workspace: Workspace, path: Path) -> Path:
    return workspace.final(path) if isinstance(workspace, StagedWorkspace) else path


@contextmanager
def generation(workspace: Workspace, year: int, *, exports: bool = True) -> Iterator[StagedWorkspace]:
    """Stage the year's processed folder (and exports folder) for the body to write into; publish
    both as one step when it ends without an exception, else discard them. Inside another
    generation (export's classify, run's stages) the outer one publishes."""
    if isinstance(workspace, StagedWorkspace) and workspace.state.get("open"):
        workspace.stage(Workspace.processed_year(workspace, year))
        if exports:
            workspace.stage(Workspace.exports_year(workspace, year))
        yield workspace
        return
    staged = StagedWorkspace(workspace.root, base=workspace)
    staged.state["open"] = True
    try:
        staged.stage(workspace.processed_year(year))
        if exports:
            staged.stage(workspace.exports_year(year))
        try:
            yield staged
            if not staged.state.get("manifest_written"):
                refresh_manifest(staged, year)
        except LandauditError as exc:
            _name_final_paths(exc, staged)
            raise
        publish(staged, year)
    finally:
        staged.state["open"] = False
        if not staged.state.get("committed"):           # not published: the year stays as it was
            for folder in staged.folders.values():
                shutil.rmtree(folder, ignore_errors=True)
            staged.folders.clear()
    for action in staged.after:
        action()


def _name_final_paths(exc: LandauditError, staged: StagedWorkspace) -> None:
    """An error names a file by where the user finds it, never by its generation folder."""
    def final(value):
        if isinstance(value, Path):
            return staged.final(value)
        if isinstance(value, str):
            for end, gen in staged.folders.items():
                value = value.replace(str(gen), str(end)).replace(
                    gen.relative_to(staged.root).as_posix(), end.relative_to(staged.root).as_posix())
        return value

    exc.args = tuple(final(a) for a in exc.args)
    if isinstance(getattr(exc, "path", None), (Path, str)):
        exc.path = final(exc.path)


def _hidden_temporary(name: str) -> bool:
    """Files no output of ours: atomic_write's temporaries, office programs' lock files."""
    return (name.startswith(".") and name.endswith((".tmp", ".staging", ".old"))) or name.startswith(("~$", ".~lock."))


def _copy_of(final: Path) -> Path:
    """A new generation folder beside `final` holding hard links to its files (copies where the
    file system has no links)."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staged = final.parent / f".{final.name}.gen-{secrets.token_hex(4)}"
        staged.mkdir()
        if final.is_dir():
            shutil.copymode(final, staged)
            for folder, dirs, files in os.walk(final):
                dirs[:] = [d for d in dirs if not _hidden_temporary(d)]
                target = staged / Path(folder).relative_to(final)
                target.mkdir(exist_ok=True)
                for name in files:
                    if _hidden_temporary(name):
                        continue
                    try:
                        os.link(Path(folder) / name, target / name)
                    except OSError:
                        shutil.copy2(Path(folder) / name, target / name)
        else:
            os.chmod(staged, 0o777 & ~_umask())
    except OSError as exc:
        raise OutputError(final, exc) from exc
    return staged


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _journal(workspace: Workspace, year: int) -> Path:
    return workspace.processed / f".publish-{year}.json"


def publish(staged: StagedWorkspace, year: int) -> None:
    """Steps 1–3 of the module docstring."""
    root = staged.root
    pairs = sorted(staged.folders.items(), key=lambda item: item[0].parent != staged.exports)   # exports first
    record = {"year": year, "folders": [
        {"final": final.relative_to(root).as_posix(), "staged": gen.relative_to(root).as_posix(),
         "aside": final.with_name(f".{final.name}.old-{secrets.token_hex(4)}").relative_to(root).as_posix(),
         "identity": _identity(gen)}
        for final, gen in pairs]}
    journal = _journal(staged, year)
    write_json(journal, record)                          # the commit point
    _fsync_file(journal)
    staged.state["committed"] = True                     # from here on only forward (recover)
    _apply(root, record)
    _unlink(journal)
    staged.folders.clear()
    _remove_asides(root, record)


def _apply(root: Path, record: dict) -> None:
    """Move each generation folder in; idempotent, so recover() can run it again after a kill at any
    step. The journal records each generation folder's identity (device, inode): the folder at the
    year's name is the generation once its identity matches, whatever else is where."""
    for pair in record["folders"]:
        final, gen, aside = (root / pair[k] for k in ("final", "staged", "aside"))
        ours = pair.get("identity")
        try:
            if ours is not None and _identity(final) == ours:
                if gen.is_dir():                    # exchanged: the previous folder is at the generation's name
                    os.replace(gen, _free(aside))
                continue
            if not gen.is_dir():
                continue
            if final.exists() and _exchange(gen, final):
                os.replace(gen, _free(aside))        # the previous folder, now at the generation's name
            else:
                if final.exists():
                    os.replace(final, _free(aside))
                os.replace(gen, final)
        except OSError as exc:          # Windows: a file in the folder is open; the journal finishes it next time
            raise OutputError(final, exc) from exc
        _fsync_dir(final.parent)


def _identity(path: Path) -> list[int] | None:
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return [info.st_dev, info.st_ino]


def _free(aside: Path) -> Path:
    while aside.exists():
        aside = aside.with_name(f"{aside.name}-{secrets.token_hex(2)}")
    return aside


def _exchange(a: Path, b: Path) -> bool:
    """Linux: swap two folders in one step (renameat2 RENAME_EXCHANGE), so a reader never finds the
    year's folder missing. False where there is no such call (other systems, old kernels, file
    systems without it): then the previous folder is renamed aside first and the new one in."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(path, exc) from exc


def _remove_asides(root: Path, record: dict) -> None:
    for pair in record["folders"]:
        aside = root / pair["aside"]
        for leftover in aside.parent.glob(f"{aside.name}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":                                  # no directory handles to fsync on Windows
        return
    _fsync_file(path)


def recover(workspace: Workspace) -> tuple[int, int]:
    """Under the lock, before writing: complete a publish a killed writer committed (journal
    present), then delete generation folders never committed and folders put aside. Returns
    (publishes completed, folders deleted)."""
    completed = discarded = 0
    if workspace.processed.is_dir():
        for journal in sorted(workspace.processed.glob(".publish-*.json")):
            try:
                record = json.loads(journal.read_text("utf-8"))
                if not all(_ours(workspace, p) for p in record["folders"]):
                    raise ValueError("a folder outside data/processed/ and data/exports/")
                pairs = record["folders"]
            except OSError as exc:
                raise OutputError(journal, exc) from exc
            except (ValueError, KeyError, TypeError, AttributeError):
                _unlink(journal)                # not ours (atomic_write never leaves half a journal)
                continue
            if pairs:
                _apply(workspace.root, record)
            _unlink(journal)
            _remove_asides(workspace.root, record)
            completed += 1
    for folder in (workspace.processed, workspace.exports):
        if folder.is_dir():
            for leftover in folder.glob(".*.gen-*"):       # never committed: the year stays as it was
                shutil.rmtree(leftover, ignore_errors=True)
                discarded += 1
            for leftover in folder.glob(".*.old-*"):       # a published run's previous folders
                shutil.rmtree(leftover, ignore_errors=True)
    return completed, discarded


def _ours(workspace: Workspace, pair: dict) -> bool:
    """A journal entry renames only a year folder of data/processed/ or data/exports/ and its own
    generation and aside folders (SPEC §13: paths stay inside the workspace)."""
    final, gen, aside = (Path(os.path.normpath(workspace.root / pair[k])) for k in ("final", "staged", "aside"))
    return (final.parent in (workspace.processed, workspace.exports) and final.name.isdigit()
            and all(p.parent == final.parent and p.name.startswith(f".{final.name}.") for p in (gen, aside)))


def output_files(workspace: Workspace, year: int) -> list[Path]:
    """The year's outputs a manifest lists: every file under data/processed/<year>/ (but the manifest
    itself) and under data/exports/<year>/, without temporaries and office lock files."""
    files = []
    for folder in (workspace.processed_year(year), workspace.exports_year(year)):
        if not folder.is_dir():
            continue
        for current, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not _hidden_temporary(d))
            for name in sorted(names):
                path = Path(current) / name
                if not _hidden_temporary(name) and path != workspace.processed_year(year) / MANIFEST:
                    files.append(path)
    return files


def file_entry(workspace: Workspace, path: Path) -> dict:
    import hashlib

    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {"path": workspace.relative(path), "sha256": digest, "bytes": path.stat().st_size}


def refresh_manifest(staged: StagedWorkspace, year: int) -> None:
    """ingest, classify or export alone changed the year: the last run's manifest gets the outputs
    as they are now (and who changed them), so it never lists files that are not on disk."""
    from datetime import datetime

    path = staged.processed_year(year) / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return
    manifest["outputs"] = [file_entry(staged, p) for p in output_files(staged, year)]
    manifest["outputs_updated"] = datetime.now().isoformat(timespec="seconds")
    write_json(path, manifest)
