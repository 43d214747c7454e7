"""A ctypes binding to the libespeak-ng bundled in the `espeakng-loader` wheel.

Why by hand: the PyPI wrappers (`espeakng`, `py-espeak-ng`) shell out to an `espeak-ng`
binary, which the loader wheel does not ship; the loader ships only the shared library and
its data. The binding needs a few C functions, so it is small. libespeak-ng keeps global
state, so one process holds one `Espeak` at a time (see `get_engine`).
"""

from __future__ import annotations

import _ctypes
import ctypes
import logging
import threading
from dataclasses import dataclass

import numpy as np

from csbench.errors import EspeakError

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
ESPEAK_RATE = 1
ESPEAK_PITCH = 3
EE_OK = 0

logger = logging.getLogger(__name__)
#: Unloads a shared library by handle (POSIX dlclose, Windows FreeLibrary).
_DLCLOSE = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
#: Seed of eSpeak's own noise generator (breathy variants such as '+f2'). The library
#: seeds it with time(NULL) in espeak_Initialize, so without this the noise, and thus the
#: samples, change from one second to the next.
_RAND_SEED = 1

# int SynthCallback(short *wav, int numsamples, espeak_EVENT *events)
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _EspeakVoice(ctypes.Structure):
    """espeak_VOICE from speak_lib.h, as espeak_ListVoices returns it."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


def _voice_languages(address: int | None) -> list[tuple[int, str]]:
    """(priority, code) entries of an espeak_VOICE `languages` field.

    The field is a run of [priority byte, NUL-terminated code] ended by a zero byte; it is
    read entry by entry so nothing past that end is touched.
    """
    entries: list[tuple[int, str]] = []
    position = 0
    while address and len(entries) < 64:
        priority = ctypes.string_at(address + position, 1)[0]
        if priority == 0:
            break
        code = ctypes.string_at(address + position + 1)
        entries.append((priority, code.decode("ascii", errors="replace").lower()))
        position += len(code) + 2
    return entries


@dataclass(frozen=True)
class Voice:
    """How one segment is spoken: eSpeak voice name (e.g. 'ko+f2'), rate (words/min), pitch."""

    name: str
    rate: int = 165
    pitch: int = 50


class Espeak:
    """Synthesizes text to int16 samples at the library's native rate (22050 Hz).

    libespeak-ng keeps synthesis state in C statics that neither espeak_Terminate nor
    espeak_Initialize resets (the pitch-flutter phase in wavegen.c, for one), so the same
    text and voice give different samples depending on everything spoken before in the
    process. `reset` unloads and reloads the library, the only way to get those statics
    back to their initial values; `speak` calls it once per utterance, so an utterance's
    audio depends on nothing but its own text and voice settings. The library's noise
    generator is seeded with a constant on every load (see `_RAND_SEED`).
    """

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as error:  # pragma: no cover - dependency is declared
            raise EspeakError("espeakng-loader is not installed: pip install espeakng-loader") from error
        self._library_path = espeakng_loader.get_library_path()
        self._data_path = espeakng_loader.get_data_path().encode()
        self._chunks: list[np.ndarray] = []
        # Keep a reference to the callback: ctypes frees it otherwise and the library crashes.
        self._callback = _SYNTH_CALLBACK(self._collect)
        self._lock = threading.Lock()
        #: Voice names as asked for (e.g. 'fr-fr+m4') -> the name eSpeak accepted.
        self._voice_names: dict[str, bytes] = {}
        self._index: tuple[dict[str, str], dict[str, str]] | None = None
        self._lib: ctypes.CDLL | None = None
        self.sample_rate = 0
        self._open()
        self.resets_state = self._check_reset()

    def _open(self) -> None:
        """dlopen libespeak-ng, declare the C signatures, initialize it and set the callback."""
        try:
            lib = ctypes.CDLL(self._library_path)
        except OSError as error:
            raise EspeakError(f"cannot load libespeak-ng: {error}") from error
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
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))
        lib.espeak_Terminate.restype = ctypes.c_int
        sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, self._data_path, 0)
        if sample_rate <= 0:
            raise EspeakError(f"espeak_Initialize failed with data path {self._data_path.decode()}")
        lib.espeak_SetSynthCallback(self._callback)
        if hasattr(lib, "espeak_ng_SetRandSeed"):
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            lib.espeak_ng_SetRandSeed.restype = None
            lib.espeak_ng_SetRandSeed(_RAND_SEED)
        self._lib, self.sample_rate = lib, sample_rate

    def _close(self) -> None:
        """Free the library's buffers and unload it, so the next dlopen starts fresh."""
        if self._lib is None:
            return
        lib, self._lib = self._lib, None
        lib.espeak_Terminate()
        if _DLCLOSE is not None:
            _DLCLOSE(lib._handle)

    def reset(self) -> None:
        """Reload libespeak-ng: the next synthesis starts from the library's initial state."""
        with self._lock:
            self._close()
            self._open()

    def _check_reset(self) -> bool:
        """Whether `reset` really restores the initial state (it cannot while another
        component of the process holds libespeak-ng loaded); warns once if it does not."""
        probe = ("reset probe", Voice("en+f2", 175, 50))
        self.synthesize(*probe)
        self.reset()
        first = self.synthesize(*probe)
        self.synthesize(*probe)
        self.reset()
        again = self.synthesize(*probe)
        self.reset()
        same = first.shape == again.shape and bool(np.array_equal(first, again))
        if not same:
            logger.warning(
                "libespeak-ng could not be reloaded (is it loaded elsewhere in this process?): "
                "synthesized audio will depend on what was synthesized before"
            )
        return same

    def _collect(self, wav, num_samples, _events) -> int:  # noqa: ANN001 - ctypes signature
        if num_samples > 0:
            # string_at copies the bytes; np.ctypeslib.as_array would create (and cache
            # forever) a new ctypes array type for every distinct chunk length.
            raw = ctypes.string_at(wav, num_samples * ctypes.sizeof(ctypes.c_short))
            self._chunks.append(np.frombuffer(raw, dtype=np.int16))
        return 0

    def _voice_index(self) -> tuple[dict[str, str], dict[str, str]]:
        """(voice file name -> identifier, language code -> identifier), read once.

        File names are lower case ('en-us' -> 'gmw/en-US'). For a language code the voice
        with the lowest priority number wins, as in eSpeak's own selection; ties keep the
        library's listing order, so the choice is deterministic.
        """
        if self._index is None:
            files: dict[str, str] = {}
            best: dict[str, tuple[int, str]] = {}
            voices = self._lib.espeak_ListVoices(None)
            index = 0
            while voices[index]:
                entry = voices[index].contents
                identifier = (entry.identifier or b"").decode()
                if identifier:
                    files.setdefault(identifier.rsplit("/", 1)[-1].lower(), identifier)
                    for priority, code in _voice_languages(entry.languages):
                        if code not in best or priority < best[code][0]:
                            best[code] = (priority, identifier)
                index += 1
            self._index = (files, {code: identifier for code, (_, identifier) in best.items()})
        return self._index

    def _voice_candidates(self, name: str) -> list[bytes]:
        """Names to try for `name`, fastest first; each keeps the '+variant' suffix.

        1. The voice file's identifier ('ja' -> 'jpx/ja'): espeak_SetVoiceByName first
           tries to open the lower-cased name as a file under lang/, and only on failure
           scans all voice files (about 2.5 ms, paid again after every `reset`). Only
           all-lower-case identifiers qualify, since the library lower-cases the name.
        2. The name as given.
        3. A language code's voice ('fr-fr' -> 'roa/fr'): eSpeak matches voice file names
           only, so a code such as 'fr-fr' (voice file 'fr') is otherwise refused.
        """
        base, plus, variant = name.partition("+")
        files, languages = self._voice_index()
        candidates = []
        identifier = files.get(base.lower())
        if identifier is not None and identifier == identifier.lower():
            candidates.append(f"{identifier}{plus}{variant}")
        candidates.append(name)
        identifier = languages.get(base.lower())
        if identifier is not None:
            candidates.append(f"{identifier}{plus}{variant}")
        return [candidate.encode() for candidate in dict.fromkeys(candidates)]

    def _set_voice(self, name: str) -> None:
        """Select voice `name` (file name or language code, plus '+variant'), or raise."""
        known = self._voice_names.get(name)
        if known is not None and self._lib.espeak_SetVoiceByName(known) == EE_OK:
            return
        for candidate in self._voice_candidates(name):
            if self._lib.espeak_SetVoiceByName(candidate) == EE_OK:
                self._voice_names[name] = candidate
                return
        raise EspeakError(f"eSpeak NG has no voice named {name!r}")

    def synthesize(self, text: str, voice: Voice) -> np.ndarray:
        """Speak `text` with `voice`; return int16 samples at `self.sample_rate`."""
        with self._lock:
            if self._lib is None:
                self._open()
            self._set_voice(voice.name)
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
