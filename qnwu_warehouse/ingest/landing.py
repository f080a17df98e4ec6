"""The landing zone as ingest sees it: every entry classified before a byte of it is read.

A landing folder is written to by people and programs ingest does not control, so nothing in it
is trusted by its name or its type:
- a symbolic link is recorded and rejected, never followed (a link to /etc/passwd or to a report
  outside the landing is not a submission); so is a FIFO, socket or device, which is never
  opened (opening a FIFO blocks);
- a file is read only once it has settled: its size and modification time held still for
  QNWU_LANDING_SETTLE_SECONDS. A report still being copied in is not taken as a complete one;
- names that upload tools give a file while it is being written (hidden ".name", "~$name",
  "name.part", "name.tmp", ...) are skipped with a reason: senders upload under such a name and
  rename when done (docs/submission_contract.md);
- a file is opened without following links, checked to be a regular file on the open handle,
  and read up to the size limit only.

Every entry gets an outcome: a ledger row (raw.received_files) or a skip reason
(raw.skipped_entries), so "every file is accounted for" covers hidden and odd entries too.
Paths are kept relative to the landing root, so the ledger survives moving the landing or the
data directory.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

import fsspec

# Names a file has while an upload or an editor is still writing it. Hidden names cover rsync's
# ".name.XXXXXX" and LibreOffice's ".~lock.name#"; "~$name" is Excel's lock file.
TEMPORARY_SUFFIXES = (
    ".part",
    ".partial",
    ".tmp",
    ".temp",
    ".crdownload",
    ".download",
    ".filepart",
    ".swp",
    ".uploading",
    ".lock",
)
TEMPORARY_PREFIXES = (".", "~$")

# Why an entry was not read this run (raw.skipped_entries.reason; docs/submission_contract.md).
# A hidden or temporary name, as upload tools give a file while writing it: read once renamed.
SKIP_TEMPORARY_NAME = "TEMPORARY_NAME"
# Its size or modification time changed during the settle interval: read on a later run.
SKIP_STILL_ARRIVING = "STILL_ARRIVING"
# A folder this process may not list.
SKIP_FOLDER_UNREADABLE = "FOLDER_UNREADABLE"
# Removed or renamed between the listing and the reading: a later run sees its new name.
SKIP_VANISHED = "VANISHED"


@dataclass(frozen=True)
class Entry:
    """One entry of the landing zone."""

    path: str  # as the file system names it (absolute for a local folder)
    relative: str  # relative to the landing root: what the ledger stores
    kind: str  # "file", "link" (symbolic or hard) or "special"
    size: int | None = None
    mtime_ns: int | None = None
    link_target: str | None = None
    # when the file last changed (for a local file also the inode's change time, which no copy tool
    # can set back): a ledger row with the same path, size and change time needs no second reading
    changed_ns: int | None = None

    @property
    def name(self) -> str:
        return PurePosixPath(self.relative).name


@dataclass(frozen=True)
class Skipped:
    relative: str
    reason: str


class ChangedWhileReading(Exception):
    """The file changed between being listed and being read: it is still arriving."""


class NotRegularFile(Exception):
    """Between listing and opening, the entry became a link or a special file."""


def is_temporary_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(TEMPORARY_PREFIXES) or lowered.endswith(TEMPORARY_SUFFIXES)


class Landing:
    """The landing zone at `url`: a local folder or any fsspec URL."""

    def __init__(self, url: str):
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.root = self.root.rstrip("/") or "/"
        self.is_local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))

    def relative(self, path: str) -> str:
        """`path` relative to the landing root, as the ledger stores it. A name that is not valid
        UTF-8 (os gives its bytes as surrogates) is written with \\x escapes: storable as text,
        and the same every run."""
        path = str(path)
        prefix = self.root.rstrip("/") + "/"
        relative = path[len(prefix) :] if path.startswith(prefix) else path
        return relative.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

    # --- listing --------------------------------------------------------------------------
    def scan(self, settle_seconds: float) -> tuple[list[Entry], list[Skipped]]:
        """Every entry, classified; files not yet settled are waited for once (at most
        `settle_seconds`), then skipped if they still changed."""
        entries, skipped = self._scan_local() if self.is_local else self._scan_fsspec()
        if settle_seconds <= 0:
            return entries, skipped
        now_ns = time.time_ns()
        settle_ns = int(settle_seconds * 1e9)
        fresh = [e for e in entries if e.kind == "file" and now_ns - self._changed_ns(e) < settle_ns]
        if not fresh:
            return entries, skipped
        youngest_age = min(now_ns - self._changed_ns(e) for e in fresh)
        time.sleep(max(0.0, (settle_ns - max(youngest_age, 0)) / 1e9))
        settled = []
        fresh_ones = set(fresh)
        for entry in entries:
            if entry in fresh_ones:
                again = self._stat(entry.path)
                if again is None or (again.st_size, again.st_mtime_ns) != (entry.size, entry.mtime_ns):
                    skipped.append(Skipped(entry.relative, SKIP_STILL_ARRIVING))
                    continue
            settled.append(entry)
        return settled, skipped

    @staticmethod
    def _changed_ns(entry: Entry) -> int:
        """When the file last changed: for a local file the inode's change time as well, which a
        copy that sets an old modification time (cp -p, touch -d) cannot move back."""
        return entry.changed_ns or entry.mtime_ns or 0

    @staticmethod
    def _stat(path: str) -> os.stat_result | None:
        try:
            return os.lstat(path)
        except OSError:
            return None

    def _scan_local(self) -> tuple[list[Entry], list[Skipped]]:
        entries: list[Entry] = []
        skipped: list[Skipped] = []
        # (folder, whether it lies in a folder with a hidden or temporary name: then every entry in it
        # is skipped, each with its own row, as the upload that writes the folder is not done)
        pending = [(self.root, False)]
        while pending:
            folder, in_temporary_folder = pending.pop()
            try:
                with os.scandir(folder) as listing:
                    children = sorted(listing, key=lambda child: child.name)
            except OSError:
                skipped.append(Skipped(self.relative(folder), SKIP_FOLDER_UNREADABLE))
                continue
            for child in children:
                relative = self.relative(child.path)
                try:
                    status = child.stat(follow_symlinks=False)
                except OSError:
                    continue  # gone between listing and looking: it was never there for this run
                if in_temporary_folder and not stat.S_ISDIR(status.st_mode):
                    skipped.append(Skipped(relative, SKIP_TEMPORARY_NAME))
                elif stat.S_ISLNK(status.st_mode):
                    try:
                        target = os.readlink(child.path)
                    except OSError:
                        target = "?"
                    entries.append(Entry(child.path, relative, "link", link_target=target))
                elif stat.S_ISDIR(status.st_mode):
                    pending.append((child.path, in_temporary_folder or is_temporary_name(child.name)))
                elif is_temporary_name(child.name):
                    skipped.append(Skipped(relative, SKIP_TEMPORARY_NAME))
                elif stat.S_ISREG(status.st_mode) and status.st_nlink > 1:
                    # a hard link: the same file is also elsewhere (a hard link to /etc/shadow is a
                    # regular file to look at), so it is treated like a symbolic link and never read
                    entries.append(Entry(child.path, relative, "link", link_target=f"hard link, {status.st_nlink} names"))
                elif stat.S_ISREG(status.st_mode):
                    entries.append(
                        Entry(
                            child.path,
                            relative,
                            "file",
                            status.st_size,
                            status.st_mtime_ns,
                            changed_ns=max(status.st_mtime_ns, status.st_ctime_ns),
                        )
                    )
                else:
                    entries.append(Entry(child.path, relative, "special"))
        entries.sort(key=lambda e: e.relative)
        return entries, skipped

    def _scan_fsspec(self) -> tuple[list[Entry], list[Skipped]]:
        entries: list[Entry] = []
        skipped: list[Skipped] = []
        for path, info in sorted(self.fs.find(self.root, detail=True).items()):
            relative = self.relative(path)
            if any(is_temporary_name(part) for part in PurePosixPath(relative).parts):
                skipped.append(Skipped(relative, SKIP_TEMPORARY_NAME))
            elif info.get("type") == "file" and not info.get("islink"):
                entries.append(Entry(path, relative, "file", info.get("size"), _mtime_ns(info), changed_ns=_mtime_ns(info)))
            elif info.get("islink"):
                entries.append(Entry(path, relative, "link", link_target=str(info.get("destination", "?"))))
            else:
                entries.append(Entry(path, relative, "special"))
        return entries, skipped

    # --- reading --------------------------------------------------------------------------
    def read(self, entry: Entry, max_bytes: int) -> bytes | None:
        """The file's bytes, or None when it is larger than `max_bytes` (nothing more is read)."""
        if not self.is_local:
            if entry.size is not None and entry.size > max_bytes:
                return None
            with self.fs.open(entry.path, "rb") as handle:
                content = handle.read(max_bytes + 1)
            return None if len(content) > max_bytes else content
        descriptor = self._open(entry)
        try:
            before = os.fstat(descriptor)
            if before.st_size > max_bytes:
                return None
            chunks, total = [], 0
            while total <= max_bytes:
                chunk = os.read(descriptor, min(1 << 20, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            after = os.fstat(descriptor)
        finally:
            os.close(descriptor)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or (
            entry.size is not None and before.st_size != entry.size
        ):
            raise ChangedWhileReading(entry.relative)
        content = b"".join(chunks)
        return None if len(content) > max_bytes else content

    @staticmethod
    def _open(entry: Entry) -> int:
        """Open without following a link, without blocking on a FIFO, and check the handle is a
        regular file: the entry may have been swapped since it was listed."""
        try:
            descriptor = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            if error.errno == errno.ELOOP:  # swapped for a symbolic link since it was listed
                raise NotRegularFile(entry.relative) from None
            raise
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_nlink > 1:
            os.close(descriptor)
            raise NotRegularFile(entry.relative)
        return descriptor


def _mtime_ns(info: dict) -> int | None:
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e9)
        try:
            return int(float(value) * 1e9)
        except (TypeError, ValueError):
            continue
    return None
