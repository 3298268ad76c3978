"""Is a CTranslate2 ``model.bin`` complete? Read its header and walk every variable, without
CTranslate2 (format: ``ctranslate2/specs/model_spec.py``, ``ModelSpec._serialize``):

    u32 binary version · str spec name · u32 revision · u32 N ·
    N × (str name · u8 rank · rank × u32 dim · u8 dtype id · u32 byte count · bytes) ·
    u32 aliases · aliases × (str alias · str target)          (str = u16 length incl. NUL, bytes)

A model split across packages and joined short (e.g. 2 of 6 parts) declares N variables but
stops after a few: this finds where, in seconds, by seeking over the tensor bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_ITEM_SIZE = {0: 4, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2}  # float32 int8 int16 int32 float16 bfloat16


@dataclass(frozen=True)
class Ct2Check:
    path: Path
    declared: int  # variables the header declares (0 when unreadable)
    found: int  # variables present in full
    problem: str | None  # None: complete

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Truncated(Exception):
    pass


def check_ct2_model(path: str | Path) -> Ct2Check:
    """Check ``model.bin`` (or a directory holding one) holds every variable it declares."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        return Ct2Check(path, 0, 0, f"{path} does not exist")
    size = path.stat().st_size
    declared = found = 0
    with open(path, "rb") as f:
        def read(fmt: str) -> tuple:
            n = struct.calcsize("<" + fmt)
            data = f.read(n)
            if len(data) < n:
                raise _Truncated
            return struct.unpack("<" + fmt, data)

        def string() -> str:
            (n,) = read("H")
            data = f.read(n)
            if len(data) < n:
                raise _Truncated
            return data.rstrip(b"\0").decode("utf-8", "replace")

        try:
            (version,) = read("I")
            if not 4 <= version <= 6:
                return Ct2Check(path, 0, 0, f"{path}: not a CTranslate2 model.bin this check knows "
                                            f"(binary version {version}; known: 4-6)")
            string()  # spec name
            read("I")  # spec revision
            (declared,) = read("I")
            for _ in range(declared):
                name = string()
                (rank,) = read("B")
                dims = read("I" * rank) if rank else ()
                dtype, nbytes = read("BI")
                count = 1
                for d in dims:
                    count *= d
                if dtype in _ITEM_SIZE and nbytes != count * _ITEM_SIZE[dtype]:
                    return Ct2Check(path, declared, found, f"{path}: variable {found + 1} ('{name}') "
                                                           f"is malformed (shape {list(dims)}, {nbytes} bytes)")
                if f.tell() + nbytes > size:
                    raise _Truncated
                f.seek(nbytes, 1)
                found += 1
            (aliases,) = read("I")
            for _ in range(aliases):
                string(), string()
        except _Truncated:
            if declared == 0:
                return Ct2Check(path, 0, 0, f"{path}: the header is cut short ({size} bytes)")
            return Ct2Check(path, declared, found,
                            f"{path} is incomplete: the header declares {declared} variables, the file "
                            f"stops at variable {found + 1} ({size / 1e6:.0f} MB, "
                            f"{found / declared:.0%} of the variables)")
    return Ct2Check(path, declared, found, None)
