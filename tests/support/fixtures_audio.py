"""Session fixture ``pulse``: a private headless PulseAudio server (see ``tests/support/pulse.py``).

It is started once per test session, this process's environment and PortAudio are pointed at it
for as long as it runs, and tests that use it are skipped with the reason when it can't start.
"""

from __future__ import annotations

import pytest

from tests.support.pulse import PulseEnv, start_pulse


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory):
    env, reason = start_pulse(tmp_path_factory.mktemp("pulse"))
    if env is None:
        pytest.skip(f"no PulseAudio test server: {reason}")
    env.activate()
    try:
        import sounddevice as sd

        if not any(d["max_output_channels"] > 0 for d in sd.query_devices()):
            env.stop()
            pytest.skip("PulseAudio runs but PortAudio sees no device through it "
                        "(is libasound2-plugins, the ALSA pulse plugin, installed?)")
    except (ImportError, OSError) as e:
        env.stop()
        pytest.skip(f"sounddevice/PortAudio is not usable: {e}")
    yield env
    env.stop()


__all__ = ["pulse", "PulseEnv"]
