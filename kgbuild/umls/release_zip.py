"""The NLM download as it comes (`umls-2025AA-metathesaurus-full.zip`, RRF files under `2025AA/META/`), read in
place: nothing is unpacked to disk.

DuckDB reads each member through a file system registered on the connection (`nlmzip://`). A deflated member is
shown to it as a gzip file: the member's compressed bytes, unchanged, between a gzip header and a trailer made from
the CRC and size the zip directory records. DuckDB then inflates it in its own C++ reader as it does a `.gz` part,
and Python only copies compressed blocks (a member read through Python's zipfile would be inflated under the GIL,
2.6x slower). A stored member is its byte range; a `.gz` part that the zip deflated once more is inflated by zipfile
(the outer layer only) and gunzipped by DuckDB.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import fsspec
from fsspec.spec import AbstractBufferedFile

from kgbuild.core.errors import UserError

PROTOCOL = "nlmzip"
# gzip member header: magic, CM=deflate, no flags, no mtime, no extra flags, OS unknown
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's own layout of a local file header (30 bytes)


@dataclass(frozen=True, order=True)
class ZipMember:
    """One file inside the release zip; named in messages as `release.zip!2025AA/META/MRCONSO.RRF`."""

    zip_path: Path
    member: str
    size: int  # uncompressed bytes, as the zip directory records them

    @property
    def name(self) -> str:
        return PurePosixPath(self.member).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.member).suffix

    @property
    def parent(self) -> str:
        return f"{self.zip_path}!{PurePosixPath(self.member).parent}"

    @property
    def url(self) -> str:
        """What DuckDB reads (the gzip view of a deflated member ends in .gz, so DuckDB inflates it)."""
        deflated = _info(self.zip_path, self.member).compress_type == zipfile.ZIP_DEFLATED
        gz = ".gz" if deflated and self.suffix != ".gz" else ""
        return f"{PROTOCOL}://{self.member}{gz}"

    def stat(self) -> SimpleNamespace:
        return SimpleNamespace(st_size=self.size)

    def open(self) -> io.BufferedIOBase:
        """The member's bytes (still gzipped when it is a .gz part), streamed from the zip."""
        return zipfile.ZipFile(self.zip_path).open(self.member)

    def __str__(self) -> str:
        return f"{self.zip_path}!{self.member}"


@dataclass(frozen=True)
class ZipMeta:
    """The META folder inside a release zip: the members directly under `folder`."""

    zip_path: Path
    folder: str  # e.g. "2025AA/META/" ("" when the RRF files sit at the zip's root)

    def iterdir(self) -> list[ZipMember]:
        return [
            ZipMember(self.zip_path, i.filename, i.file_size)
            for i in _infos(self.zip_path).values()
            if not i.is_dir() and PurePosixPath(i.filename).parent == PurePosixPath(self.folder or ".")
        ]

    def filesystem(self) -> fsspec.AbstractFileSystem:
        return NlmZipFileSystem(zip_path=str(self.zip_path))

    def __str__(self) -> str:
        return f"{self.zip_path}!{self.folder}" if self.folder else str(self.zip_path)


_CACHE: dict[tuple, dict[str, zipfile.ZipInfo]] = {}


def _infos(zip_path: Path) -> dict[str, zipfile.ZipInfo]:
    """The zip's directory, read once per file version (a zip rewritten in place is read again)."""
    st = Path(zip_path).stat()
    key = (Path(zip_path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        with zipfile.ZipFile(zip_path) as zf:
            _CACHE[key] = {i.filename: i for i in zf.infolist()}
    return _CACHE[key]


def _info(zip_path: Path, member: str) -> zipfile.ZipInfo:
    return _infos(zip_path)[member]


def open_release(path: Path) -> ZipMeta:
    """The META folder of a release zip: `<release>/META/`, a top-level `META/`, or RRF files at the root. A zip
    without MRCONSO is refused with what it holds."""
    try:
        infos = _infos(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(
            f"not a readable zip file ({exc})",
            path=path,
            fix="download the release zip again, or give the unpacked META folder",
        ) from None
    unsupported = sorted(
        {i.compress_type for i in infos.values() if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)}
    )
    folders = sorted(
        {
            str(PurePosixPath(name).parent).removeprefix(".")
            for name in infos
            if PurePosixPath(name).name.startswith("MRCONSO.RRF")
        },
        key=lambda f: (not f.endswith("META"), f),
    )
    if not folders:
        shown = ", ".join(sorted(infos)[:5]) or "nothing"
        nested = any(name.endswith(".nlm") for name in infos)  # the Full Release: zips of split parts inside
        raise UserError(
            f"no META/MRCONSO.RRF in the zip (it holds {shown}{' …' if len(infos) > 5 else ''})",
            path=path,
            fix=(
                "this is the Full Release, whose .nlm members are zips themselves: give the Metathesaurus Full "
                "Subset (umls-<release>-metathesaurus-full.zip), or unzip every .nlm into one META folder"
                if nested
                else "give the Metathesaurus release zip (umls-<release>-metathesaurus-full.zip) or its META folder"
            ),
        )
    if unsupported:
        raise UserError(
            f"the zip uses compression method {unsupported[0]}, which is neither stored nor deflate",
            path=path,
            fix="unpack it with a zip tool and give the META folder",
        )
    folder = folders[0]
    return ZipMeta(path, f"{folder}/" if folder else "")


def _data_offset(fh, info: zipfile.ZipInfo) -> int:
    """Where a member's (compressed) bytes start: after its local header, whose extra field may differ in length
    from the central directory's."""
    fh.seek(info.header_offset)
    header = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
    return info.header_offset + _LOCAL_HEADER.size + header[10] + header[11]


class NlmZipFileSystem(fsspec.AbstractFileSystem):
    """Members of one zip as DuckDB reads them: `nlmzip://<member>[.gz]` (see the module docstring)."""

    protocol = PROTOCOL
    cachable = False

    def __init__(self, zip_path: str, **kwargs):
        super().__init__(**kwargs)
        self.zip_path = Path(zip_path)

    @cached_property
    def _segments(self) -> dict[str, tuple[bytes, int, int, bytes]]:
        """url path -> (prefix bytes, offset of the member's data in the zip (-1: read through zipfile), its length,
        suffix bytes)."""
        out = {}
        with open(self.zip_path, "rb") as fh:
            for name, info in _infos(self.zip_path).items():
                if info.is_dir():
                    continue
                offset = _data_offset(fh, info)
                if info.compress_type == zipfile.ZIP_STORED:
                    out[name] = (b"", offset, info.compress_size, b"")
                elif not name.endswith(".gz"):
                    trailer = struct.pack("<LL", info.CRC, info.file_size & 0xFFFFFFFF)
                    out[name + ".gz"] = (_GZIP_HEADER, offset, info.compress_size, trailer)
                else:  # a .gz part deflated once more: Python inflates the outer layer, DuckDB the gzip
                    out[name] = (b"", -1, info.file_size, b"")
        return out

    def _key(self, path: str) -> str:
        return self._strip_protocol(path).lstrip("/")

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return path.removeprefix(f"{PROTOCOL}://")

    def info(self, path: str, **kwargs) -> dict:
        key = self._key(path)
        if key not in self._segments:
            raise FileNotFoundError(path)
        head, _, length, tail = self._segments[key]
        return {"name": key, "size": len(head) + length + len(tail), "type": "file"}

    def ls(self, path: str, detail: bool = True, **kwargs):
        entries = [self.info(k) for k in self._segments if k.startswith(self._key(path))]
        return entries if detail else [e["name"] for e in entries]

    def _open(self, path: str, mode: str = "rb", block_size=None, **kwargs):
        return _MemberFile(self, path, mode=mode, block_size=block_size or 8 << 20, cache_type="none")


class _MemberFile(AbstractBufferedFile):
    _stream = None

    def _fetch_range(self, start: int, end: int) -> bytes:
        head, offset, length, tail = self.fs._segments[self.fs._key(self.path)]
        if offset < 0:  # read through zipfile (DuckDB reads a .gz front to back, so seeks only go forward)
            if self._stream is None:
                self._stream = zipfile.ZipFile(self.fs.zip_path).open(self.fs._key(self.path))
            self._stream.seek(start)
            return self._stream.read(max(min(end, length) - start, 0))
        whole = len(head) + length + len(tail)  # the gzip view: header, the member's deflate data, trailer
        end = min(end, whole)
        out = bytearray()
        if start < len(head):
            out += head[start : min(end, len(head))]
        lo, hi = max(start - len(head), 0), min(end - len(head), length)
        if hi > lo:
            with open(self.fs.zip_path, "rb") as fh:
                fh.seek(offset + lo)
                out += fh.read(hi - lo)
        if end > len(head) + length:
            out += tail[max(start - len(head) - length, 0) : end - len(head) - length]
        return bytes(out)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        super().close()
