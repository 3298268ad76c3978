"""Where models live and whether their hubs can be reached: the one place that decides.

- ``starter_dir()``: the starter pack (``assistant models install starter``);
- ``is_offline()`` / ``hub_reachable(url)``: ``HF_HUB_OFFLINE`` and one short HTTP probe per host,
  cached for the life of the process, so a dead network costs one timeout, not one per model;
- ``looks_like_path(name)``: tells a local path from a hub id or model name.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Iterable
from urllib.parse import urlparse

log = logging.getLogger(__name__)

_TRUE = {"1", "on", "yes", "true"}
PROBE_TIMEOUT_S = 2.0  # a hub that has not answered in 2 s is treated as unreachable

#: The hosts each kind of model comes from (probed before any download is tried).
HF_ENDPOINT_DEFAULT = "https://huggingface.co"
WHISPER_HOST = "https://openaipublic.azureedge.net"
COQUI_HOST = "https://github.com"


def models_root() -> Path:
    """``$ASSISTANT_MODELS``, else ``$XDG_CACHE_HOME/assistant/models``, else ``~/.cache/assistant/models``."""
    env = os.environ.get("ASSISTANT_MODELS")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "assistant" / "models"


def starter_dir() -> Path:
    """The starter pack's directory (it may not exist yet)."""
    return models_root() / "starter"


def hf_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or HF_ENDPOINT_DEFAULT


def is_offline() -> bool:
    """``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``, read now (huggingface_hub reads them once, at
    import). We honour them for every hub: no model is downloaded while they are set."""
    flags = (os.environ.get(v, "").strip().lower() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    if any(f in _TRUE for f in flags):
        return True
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    return bool(constants.HF_HUB_OFFLINE)


_probes: dict[str, str | None] = {}
_lock = threading.Lock()


def unreachable_reason(url: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None when ``url``'s host answers (any HTTP status) within ``timeout``; else why not.

    One HEAD request per scheme+host per process: later calls reuse the answer. The offline
    flags count as unreachable without any request."""
    url = url or hf_endpoint()
    if is_offline():
        return "HF_HUB_OFFLINE is set"
    parts = urlparse(url)
    base = f"{parts.scheme}://{parts.netloc}"
    # A changed proxy is a different route: part of the key.
    key = base + "|" + "|".join(os.environ.get(v, "") for v in
                                ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "NO_PROXY"))
    with _lock:
        if key in _probes:
            return _probes[key]
    why = _probe(base, parts.hostname or base, timeout)
    with _lock:
        _probes[key] = why
    return why


def _probe(base: str, host: str, timeout: float) -> str | None:
    # The name lookup is not bounded by httpx's timeout (getaddrinfo blocks, for 10 s or more with
    # a dead DNS server): the request runs in a daemon thread and we wait for it at most ~timeout.
    import httpx

    answer: list[str | None] = []

    def head() -> None:
        try:
            httpx.head(base, timeout=timeout, follow_redirects=False)
            answer.append(None)
        except httpx.HTTPError as e:
            log.debug("probing %s failed: %r", base, e)
            answer.append(f"{host} is unreachable ({type(e).__name__})")

    thread = threading.Thread(target=head, name=f"probe {host}", daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return answer[0] if answer else f"{host} is unreachable (no answer in {timeout:.0f} s)"


def probe_all(urls: Iterable[str | None]) -> dict[str, str | None]:
    """``unreachable_reason`` for several hubs at once (in parallel: a dead network costs one
    timeout, not one per hub)."""
    from concurrent.futures import ThreadPoolExecutor

    wanted = sorted({u for u in urls if u})
    if not wanted:
        return {}
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        return dict(zip(wanted, pool.map(unreachable_reason, wanted)))


def hub_reachable(url: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the hub at ``url`` (default: the Hugging Face endpoint) can be reached now."""
    return unreachable_reason(url, timeout) is None


def forget_probes() -> None:
    """Drop the cached probe answers (tests; a long-running process whose network changed)."""
    with _lock:
        _probes.clear()


def looks_like_path(name: str) -> bool:
    """A local path rather than a model name or an ``org/name`` hub id: a leading ``.``, ``~``,
    ``/`` or ``\\``, an absolute path, a backslash, more than one ``/``, or a trailing ``/``."""
    return (name.startswith((".", "~", "/", "\\")) or os.path.isabs(name) or "\\" in name
            or name.count("/") > 1 or name.endswith("/"))
