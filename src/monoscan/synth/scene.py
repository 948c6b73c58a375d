"""Parameters of one synthetic scene: drawn from a seed, written to and read from JSON.

Everything :func:`monoscan.synth.generate.generate_scene` needs to rebuild a scene exactly is
in :class:`SceneParams`; ``SceneParams.from_json(p.to_json()) == p`` and
:func:`random_scene` with the same seed gives the same parameters.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from monoscan.core.errors import FormatError, InputError
from monoscan.synth.hairstyles import CURLS, LENGTHS, PARTINGS, harolongo_path, usc_guide_dir

__all__ = [
    "CORPUS_HAIR_COLOURS",
    "HAIR_COLOURS",
    "N_HEAD_VARIANTS",
    "SKIN_TONES",
    "SceneParams",
    "corpus_scene",
    "random_scene",
]

#: Base hair colours (sRGB, [0, 1]).
HAIR_COLOURS = {
    "black": (0.045, 0.038, 0.034),
    "dark_brown": (0.16, 0.10, 0.065),
    "brown": (0.33, 0.21, 0.12),
    "auburn": (0.42, 0.17, 0.08),
    "blonde": (0.72, 0.57, 0.36),
    "grey": (0.58, 0.57, 0.55),
}
#: Hair colours of the corpus (:func:`corpus_scene`) and how often each is drawn; ``dyed``
#: draws a saturated hue or platinum (see :func:`_dyed`).
CORPUS_HAIR_COLOURS = {
    "black": 0.22,
    "dark_brown": 0.2,
    "brown": 0.15,
    "auburn": 0.05,
    "red": 0.05,
    "blonde": 0.13,
    "grey": 0.1,
    "dyed": 0.1,
}
_RED = (0.55, 0.2, 0.07)
#: Skin tones from light to dark (sRGB, [0, 1]); scenes interpolate between neighbours.
SKIN_TONES = (
    (0.95, 0.79, 0.68),
    (0.86, 0.66, 0.53),
    (0.70, 0.50, 0.37),
    (0.52, 0.35, 0.24),
    (0.36, 0.23, 0.16),
)
IRIS_COLOURS = ((0.25, 0.14, 0.07), (0.12, 0.07, 0.04), (0.30, 0.42, 0.55), (0.32, 0.38, 0.22))
#: Head shapes are drawn from this many seeded variants (so meshes can be cached).
N_HEAD_VARIANTS = 12


@dataclass(frozen=True)
class SceneParams:
    """Everything that defines a synthetic scene (JSON-friendly: numbers, strings, lists).

    Attributes
    ----------
    seed : int
    width, height : int
        Image size, pixels.
    camera : {"orthographic", "perspective"}
    fov_deg : float
        Vertical field of view (perspective only).
    fill : float
        Fraction of the image height taken by the head (crown to chin).
    offset_px : list of 2 float
        Image offset of the head from the centre, pixels.
    yaw_deg, pitch_deg, roll_deg : float
        Head (with hair and torso) rotation in the camera-aligned world frame: positive yaw
        turns the face toward the image right, positive pitch tilts it up, positive roll
        turns it counter-clockwise in the image (see
        :func:`monoscan.synth.generate.head_rotation`).
    head_variant : int
        Which of :data:`N_HEAD_VARIANTS` seeded head shapes.
    skin, iris, brow, lip, shirt, hair_colour : list of 3 float
        sRGB colours in [0, 1].
    hair_source : str
        ``"procedural"``, ``"harolongo"`` or ``"usc:<file stem>"``.
    style : str
        A catalogue style id (:mod:`monoscan.synth.catalogue`); when set, the hair is that
        style (:func:`monoscan.synth.styles.build_style`) and ``curl``, ``length``,
        ``parting``, ``bangs``, ``ponytail`` and ``volume`` are unused.
    split : str
        The style's split (``""`` without a style).
    length_scale, curl_scale, wave_add, volume_scale : float
        Augmentations of a catalogue style (:class:`monoscan.synth.styles.Augment`).
    curl, length, parting : str
    bangs, ponytail : bool
    n_strands : int
    volume : float
        Extra layer height of the hair over the scalp, metres.
    lights : list of [dx, dy, dz, r, g, b]
        Directional lights (direction toward the light, world frame; linear colour).
    ambient : list of 3 float
    background_seed : int
    noise : float
        Sensor noise sigma (of 255).
    blur : float
        Lens blur sigma, pixels.
    """

    seed: int
    width: int = 512
    height: int = 512
    camera: str = "perspective"
    fov_deg: float = 25.0
    fill: float = 0.45
    offset_px: tuple = (0.0, 0.0)
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    head_variant: int = 0
    skin: tuple = SKIN_TONES[1]
    iris: tuple = IRIS_COLOURS[0]
    brow: tuple = (0.12, 0.08, 0.06)
    lip: tuple = (0.70, 0.35, 0.33)
    shirt: tuple = (0.2, 0.3, 0.5)
    hair_colour: tuple = HAIR_COLOURS["brown"]
    hair_source: str = "procedural"
    curl: str = "straight"
    length: str = "medium"
    parting: str = "centre"
    bangs: bool = False
    ponytail: bool = False
    style: str = ""
    split: str = ""
    length_scale: float = 1.0
    curl_scale: float = 1.0
    wave_add: float = 0.0
    volume_scale: float = 1.0
    n_strands: int = 5000
    volume: float = 0.012
    lights: tuple = ((-0.4, 0.6, 0.7, 0.75, 0.75, 0.72),)
    ambient: tuple = (0.35, 0.35, 0.36)
    background_seed: int = 0
    noise: float = 2.0
    blur: float = 0.5

    def __post_init__(self) -> None:
        if self.camera not in ("orthographic", "perspective"):
            raise InputError(f"camera must be orthographic or perspective, got {self.camera!r}")
        if self.curl not in CURLS or self.length not in LENGTHS or self.parting not in PARTINGS:
            raise InputError(f"unknown hairstyle {self.curl}/{self.length}/{self.parting}")
        if not 0 <= self.head_variant < N_HEAD_VARIANTS:
            raise InputError(f"head_variant must be 0..{N_HEAD_VARIANTS - 1}")
        if self.style:
            from monoscan.synth.catalogue import parse_style

            spec = parse_style(self.style)
            if self.split and self.split != spec.split:
                raise InputError(f"style {self.style} is in split {spec.split}, not {self.split}")
        elif self.split:
            raise InputError("split is set but style is not")
        if self.width < 64 or self.height < 64:
            raise InputError(f"image must be at least 64x64, got {self.width}x{self.height}")
        # Normalise sequences to tuples so equality after a JSON round trip holds.
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (list, tuple)):
                object.__setattr__(
                    self,
                    f.name,
                    tuple(
                        tuple(float(x) for x in e) if isinstance(e, (list, tuple)) else float(e)
                        for e in v
                    ),
                )

    def to_json(self) -> dict:
        d = asdict(self)
        return {
            k: ([list(e) if isinstance(e, tuple) else e for e in v] if isinstance(v, tuple) else v)
            for k, v in d.items()
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_json(cls, d: dict) -> SceneParams:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise FormatError(f"unknown scene parameter(s): {sorted(unknown)}")
        try:
            return cls(**d)
        except TypeError as exc:
            raise FormatError(f"malformed scene parameters: {exc}") from None

    @classmethod
    def loads(cls, text: str) -> SceneParams:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"scene.json is not valid JSON: {exc}") from None
        if not isinstance(d, dict):
            raise FormatError("scene.json must hold an object")
        return cls.from_json(d.get("params", d))


def _mix(a, b, t) -> tuple:
    return tuple(float(x) for x in (np.asarray(a) * (1 - t) + np.asarray(b) * t))


def random_scene(
    seed: int,
    width: int = 512,
    height: int = 512,
    hair_source: str | None = None,
    camera: str | None = None,
    real_styles: bool = True,
) -> SceneParams:
    """Draw scene parameters from ``seed`` (the same seed gives the same scene).

    Parameters
    ----------
    seed : int
    width, height : int
    hair_source : str, optional
        Force ``"procedural"``, ``"harolongo"`` or ``"usc:<stem>"``; default: mostly procedural,
        with real styles (when their files are present and ``real_styles``) one time in five.
    camera : str, optional
        Force the camera kind.
    real_styles : bool
        Allow real styles when no ``hair_source`` is given.
    """
    rng = np.random.default_rng([int(seed), 7])
    kind = camera or ("perspective" if rng.random() < 0.6 else "orthographic")
    skin_i = rng.uniform(0, len(SKIN_TONES) - 1)
    lo = int(np.floor(skin_i))
    skin = _mix(SKIN_TONES[lo], SKIN_TONES[min(lo + 1, len(SKIN_TONES) - 1)], skin_i - lo)
    colour_name = rng.choice(list(HAIR_COLOURS), p=[0.28, 0.28, 0.18, 0.08, 0.12, 0.06])
    hair = np.clip(np.asarray(HAIR_COLOURS[colour_name]) * rng.uniform(0.85, 1.15, 3), 0, 1)
    brow = tuple(float(x) for x in np.clip(hair * 0.8 + 0.02, 0, 1))
    lip = _mix(
        np.asarray(skin) * np.array([0.95, 0.6, 0.6]), (0.75, 0.3, 0.3), rng.uniform(0.2, 0.6)
    )
    source = hair_source
    if source is None:
        source = "procedural"
        if real_styles and rng.random() < 0.2:
            choices = []
            if harolongo_path() is not None:
                choices.append("harolongo")
            guides = usc_guide_dir()
            if guides is not None:
                stems = sorted(p.stem for p in guides.glob("*.data"))
                choices.append("usc:" + stems[int(rng.integers(len(stems)))])
            if choices:
                source = choices[int(rng.integers(len(choices)))]
    curl = str(rng.choice(CURLS, p=[0.4, 0.25, 0.2, 0.15]))
    length = str(rng.choice(LENGTHS, p=[0.3, 0.35, 0.35]))
    lights = []
    key_az, key_el = rng.uniform(-60, 60), rng.uniform(10, 55)
    for az, el, power in [
        (key_az, key_el, rng.uniform(0.6, 0.85)),
        (-key_az * rng.uniform(0.5, 1.5), rng.uniform(-10, 30), rng.uniform(0.15, 0.35)),
    ]:
        a, e = np.radians(az), np.radians(el)
        d = [np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)]
        tint = rng.uniform(0.9, 1.1, 3)
        lights.append(tuple(float(x) for x in (*d, *(power * tint))))
    amb = rng.uniform(0.22, 0.38)
    return SceneParams(
        seed=int(seed),
        width=int(width),
        height=int(height),
        camera=kind,
        fov_deg=float(rng.uniform(15, 40)),
        fill=float(rng.uniform(0.40, 0.52)),
        offset_px=tuple(float(x) for x in rng.normal(0, 0.03, 2) * np.array([width, height])),
        yaw_deg=float(np.clip(rng.normal(0, 12), -30, 30)),
        pitch_deg=float(np.clip(rng.normal(0, 6), -15, 15)),
        roll_deg=float(np.clip(rng.normal(0, 3), -8, 8)),
        head_variant=int(rng.integers(N_HEAD_VARIANTS)),
        skin=skin,
        iris=IRIS_COLOURS[int(rng.integers(len(IRIS_COLOURS)))],
        brow=brow,
        lip=lip,
        shirt=tuple(float(x) for x in rng.uniform(0.05, 0.9, 3)),
        hair_colour=tuple(float(x) for x in hair),
        hair_source=source,
        curl=curl,
        length=length,
        parting=str(rng.choice(PARTINGS, p=[0.35, 0.2, 0.2, 0.25])),
        bangs=bool(rng.random() < 0.25),
        ponytail=bool(length != "short" and rng.random() < 0.15),
        n_strands=int(rng.integers(4000, 7000)),
        volume=float(rng.uniform(0.006, 0.02)),
        lights=tuple(lights),
        ambient=(amb, amb * rng.uniform(0.95, 1.05), amb),
        background_seed=int(rng.integers(2**31)),
        noise=float(rng.uniform(1.0, 3.0)),
        blur=float(rng.uniform(0.3, 0.7)),
    )


def _dyed(rng: np.random.Generator) -> np.ndarray:
    """A dyed hair colour: a saturated hue (pink, blue, purple, green, ...) or platinum."""
    import colorsys

    if rng.random() < 0.2:
        return np.array([0.86, 0.84, 0.78])
    hue = rng.random()
    return np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.5, 0.85), rng.uniform(0.35, 0.8)))


def corpus_scene(
    split: str,
    seed: int,
    width: int = 512,
    height: int = 512,
    *,
    views: str = "wide",
    real_styles: bool = True,
) -> SceneParams:
    """Scene ``seed`` of the training corpus's ``split`` (the same arguments, the same scene).

    The style is drawn from the split's styles only
    (:func:`monoscan.synth.catalogue.draw_style`), then the density (10k to 50k strands,
    log-uniform; buzz cuts and bald fringes too), the augmentations (length, curl, an added
    wave, volume), the hair colour (black, browns, auburn, red, blonde, grey, dyed), the
    person, the lights, the background and the camera.

    Parameters
    ----------
    split : {"train", "val", "test"}
    seed : int
    width, height : int
    views : {"wide", "frontal"}
        ``wide``: yaw -90..90 deg, with one view in seven from behind (|yaw| 90..180), pitch
        -20..20 deg (the training corpus). ``frontal``: the benchmark's poses (yaw within 30
        deg), where a face can be found.
    real_styles : bool
        Allow the USC-HairSalon and harolongo styles (when their files are present).
    """
    from monoscan.synth.catalogue import draw_style

    if views not in ("wide", "frontal"):
        raise InputError(f"views must be wide or frontal, got {views!r}")
    spec = draw_style(split, seed, real=real_styles)
    base = random_scene(seed, width, height, hair_source="procedural")
    rng = np.random.default_rng([int(seed), 17, len(split)])
    name = str(rng.choice(list(CORPUS_HAIR_COLOURS), p=list(CORPUS_HAIR_COLOURS.values())))
    if name == "dyed":
        hair = _dyed(rng)
    else:
        rgb = _RED if name == "red" else HAIR_COLOURS[name]
        hair = np.clip(np.asarray(rgb) * rng.uniform(0.85, 1.15, 3), 0, 1)
    brow_src = hair if name != "dyed" else np.asarray(HAIR_COLOURS["dark_brown"])
    n_strands = int(np.exp(rng.uniform(np.log(10_000), np.log(50_000))))
    curly = spec.kind in ("wavy", "curly", "coily", "afro")
    wave = 0.0
    if not curly and spec.kind not in ("buzz", "bald", "braid", "bun", "updo"):
        wave = float(rng.uniform(0.003, 0.009)) if rng.random() < 0.3 else 0.0
    if views == "wide":
        if rng.random() < 1 / 7:
            yaw = float(rng.uniform(90, 180) * rng.choice([-1, 1]))
        else:
            yaw = float(rng.uniform(-90, 90))
        pitch = float(rng.uniform(-20, 20))
    else:
        yaw, pitch = base.yaw_deg, base.pitch_deg
    lights = list(base.lights)
    if rng.random() < 0.35:  # a rim light from behind
        a = np.radians(rng.uniform(120, 240))
        e = np.radians(rng.uniform(0, 45))
        d = [np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)]
        lights.append(tuple(float(x) for x in (*d, *(rng.uniform(0.3, 0.7) * np.ones(3)))))
    source = {"usc": f"usc:cstrands{spec.variant:05d}", "harolongo": "harolongo"}.get(
        spec.family, "procedural"
    )
    return replace(
        base,
        yaw_deg=yaw,
        pitch_deg=pitch,
        hair_colour=tuple(float(x) for x in hair),
        brow=tuple(float(x) for x in np.clip(brow_src * 0.8 + 0.02, 0, 1)),
        hair_source=source,
        style=spec.id,
        split=spec.split,
        n_strands=n_strands,
        length_scale=float(rng.uniform(0.75, 1.15)),
        curl_scale=float(rng.uniform(0.75, 1.3)),
        wave_add=wave,
        volume_scale=float(rng.uniform(0.92, 1.12)),
        lights=tuple(lights),
    )
