"""A ctypes binding to the libespeak-ng bundled in the `espeakng-loader` wheel.

Why by hand: the PyPI wrappers (`espeakng`, `py-espeak-ng`) shell out to an `espeak-ng`
binary, which the loader wheel does not ship; the loader ships only the shared library and
its data. The binding needs six C functions, so it is small. libespeak-ng keeps global
state, so one process holds one `Espeak` at a time (see `get_engine`).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
ESPEAK_RATE = 1
ESPEAK_PITCH = 3
EE_OK = 0

# int SynthCallback(short *wav, int numsamples, espeak_EVENT *events)
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakError(RuntimeError):
    """Raised when libespeak-ng cannot be loaded or refuses a voice or text."""


@dataclass(frozen=True)
class Voice:
    """How one segment is spoken: eSpeak voice name (e.g. 'ko+f2'), rate (words/min), pitch."""

    name: str
    rate: int = 165
    pitch: int = 50


class Espeak:
    """Synthesizes text to int16 samples at the library's native rate (22050 Hz)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as error:  # pragma: no cover - dependency is declared
            raise EspeakError("espeakng-loader is not installed: pip install espeakng-loader") from error
        try:
            self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as error:
            raise EspeakError(f"cannot load libespeak-ng: {error}") from error
        lib = self._lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        data_path = espeakng_loader.get_data_path().encode()
        self.sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0)
        if self.sample_rate <= 0:
            raise EspeakError(f"espeak_Initialize failed with data path {data_path.decode()}")
        self._chunks: list[np.ndarray] = []
        # Keep a reference to the callback: ctypes frees it otherwise and the library crashes.
        self._callback = _SYNTH_CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()

    def _collect(self, wav, num_samples, _events) -> int:  # noqa: ANN001 - ctypes signature
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0

    def synthesize(self, text: str, voice: Voice) -> np.ndarray:
        """Speak `text` with `voice`; return int16 samples at `self.sample_rate`."""
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.name.encode()) != EE_OK:
                raise EspeakError(f"eSpeak NG has no voice named {voice.name!r}")
            self._lib.espeak_SetParameter(ESPEAK_RATE, int(voice.rate), 0)
            self._lib.espeak_SetParameter(ESPEAK_PITCH, int(voice.pitch), 0)
            self._chunks = []
            encoded = text.encode("utf-8") + b"\0"
            status = self._lib.espeak_Synth(
                encoded, len(encoded), 0, 0, 0, ESPEAK_CHARS_UTF8, None, None
            )
            if status != EE_OK:
                raise EspeakError(f"espeak_Synth failed (status {status}) on text {text!r}")
            if not self._chunks:
                return np.zeros(0, dtype=np.int16)
            return np.concatenate(self._chunks).astype(np.int16)


_ENGINE: Espeak | None = None


def get_engine() -> Espeak:
    """The process-wide engine (libespeak-ng cannot hold two initialized instances)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Espeak()
    return _ENGINE
