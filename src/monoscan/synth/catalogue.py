"""The hairstyle catalogue of the synthetic corpus: every style has an id and a split.

Style ids
---------
``usc:NNNNN``
    one USC-HairSalon hairstyle, from its 5 guide strands (``cstrandsNNNNN.data``),
    densified over our scalp (:func:`monoscan.synth.densify.usc_guides`).
``harolongo``
    the complete Digital Salon hairstyle.
``proc:KIND:V``
    variant ``V`` (0 .. :data:`N_VARIANTS` - 1) of a procedural kind (:data:`PROC_KINDS`);
    the variant fixes the style's structure (length, parting, bangs, tie point, coil size...).
``ID:mirror``
    the style mirrored left-right (x -> -x in the head frame).

Splits
------
A style's split is a fixed function of its *base* id (the id without ``:mirror``): the first
8 bytes of SHA-256 of the base id as a fraction ``h`` in [0, 1); ``train`` if ``h < 0.8``,
``val`` if ``h < 0.9``, else ``test``. A style and its mirror therefore always share a
split, and a style keeps its split whatever else the catalogue holds (whether or not the USC
files are present, however many variants are added). Scenes drawn for one split only ever use
that split's styles (:func:`draw_style`).
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monoscan.core.errors import InputError

__all__ = [
    "FAMILY_WEIGHTS",
    "N_VARIANTS",
    "PROC_KINDS",
    "SPLITS",
    "StyleSpec",
    "catalogue",
    "draw_style",
    "parse_style",
    "split_of",
    "usc_ids",
]

SPLITS = ("train", "val", "test")
#: Procedural kinds (the styles USC-HairSalon lacks, plus loose straight / wavy / curly cuts).
PROC_KINDS = (
    "straight",
    "wavy",
    "curly",
    "coily",
    "afro",
    "bun",
    "ponytail",
    "braid",
    "updo",
    "buzz",
    "bald",
)
#: Variants per procedural kind.
N_VARIANTS = 30
#: How often a scene draws from each family (renormalised over the families present).
FAMILY_WEIGHTS = {"usc": 0.5, "proc": 0.45, "harolongo": 0.05}


@dataclass(frozen=True)
class StyleSpec:
    """One catalogue entry.

    Attributes
    ----------
    id : str
        The style id (module docstring).
    base : str
        ``id`` without ``:mirror``.
    family : {"usc", "harolongo", "proc"}
    kind : str
        ``"usc"``, ``"harolongo"`` or the procedural kind.
    variant : int
        Procedural variant, or the USC number; 0 for harolongo.
    mirror : bool
    split : {"train", "val", "test"}
    """

    id: str
    base: str
    family: str
    kind: str
    variant: int
    mirror: bool
    split: str


def split_of(style_id: str) -> str:
    """The split of a style id (its mirror's split is the same)."""
    base = style_id.removesuffix(":mirror")
    h = int.from_bytes(hashlib.sha256(base.encode()).digest()[:8], "big") / 2.0**64
    return "train" if h < 0.8 else ("val" if h < 0.9 else "test")


def parse_style(style_id: str) -> StyleSpec:
    """The :class:`StyleSpec` of a style id (the id is checked, not looked up on disk)."""
    mirror = style_id.endswith(":mirror")
    base = style_id.removesuffix(":mirror")
    parts = base.split(":")
    if base == "harolongo":
        family, kind, variant = "harolongo", "harolongo", 0
    elif parts[0] == "usc" and len(parts) == 2 and parts[1].isdigit() and len(parts[1]) == 5:
        family, kind, variant = "usc", "usc", int(parts[1])
    elif (
        parts[0] == "proc"
        and len(parts) == 3
        and parts[1] in PROC_KINDS
        and parts[2].isdigit()
        and int(parts[2]) < N_VARIANTS
        and str(int(parts[2])) == parts[2]
    ):
        family, kind, variant = "proc", parts[1], int(parts[2])
    else:
        raise InputError(
            f"unknown style id {style_id!r}: expected usc:NNNNN, harolongo or "
            f"proc:KIND:V (KIND one of {', '.join(PROC_KINDS)}; V < {N_VARIANTS}), "
            "optionally followed by :mirror"
        )
    return StyleSpec(style_id, base, family, kind, variant, mirror, split_of(base))


def usc_ids() -> list[str]:
    """Base ids of the USC-HairSalon styles whose guide files are present (sorted)."""
    from monoscan.synth.hairstyles import usc_guide_dir

    d = usc_guide_dir()
    return [] if d is None else list(_usc_ids_in(str(d)))


@functools.lru_cache(maxsize=8)
def _usc_ids_in(folder: str) -> tuple[str, ...]:
    out = []
    for p in sorted(Path(folder).glob("cstrands*.data")):
        num = p.stem.removeprefix("cstrands")
        if num.isdigit() and len(num) == 5:
            out.append(f"usc:{num}")
    return tuple(out)


def catalogue(split: str | None = None, *, real: bool = True) -> list[StyleSpec]:
    """Every style (with its mirror), optionally only those of ``split``.

    Parameters
    ----------
    split : {"train", "val", "test"}, optional
    real : bool
        Include the real styles (USC-HairSalon, harolongo) whose files are present.
    """
    from monoscan.synth.hairstyles import harolongo_path, usc_guide_dir

    if split is not None and split not in SPLITS:
        raise InputError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    real_ids: tuple[str, ...] = ()
    if real:
        # Looked up on every call (data may come or go); the listing is cached per folder.
        guides = usc_guide_dir()
        real_ids = _usc_ids_in(str(guides)) if guides is not None else ()
        if harolongo_path() is not None:
            real_ids += ("harolongo",)
    return list(_entries(split, real_ids))


@functools.lru_cache(maxsize=64)
def _entries(split: str | None, real_ids: tuple[str, ...]) -> tuple[StyleSpec, ...]:
    bases = [f"proc:{k}:{v}" for k in PROC_KINDS for v in range(N_VARIANTS)] + list(real_ids)
    out = []
    for b in bases:
        for sid in (b, b + ":mirror"):
            spec = parse_style(sid)
            if split is None or spec.split == split:
                out.append(spec)
    return tuple(out)


def _stable_int(text: str) -> int:
    return zlib.crc32(text.encode())


def draw_style(split: str, seed: int, *, real: bool = True) -> StyleSpec:
    """The style of scene ``seed`` of ``split`` (the same arguments give the same style).

    A family is drawn by :data:`FAMILY_WEIGHTS` (over the families the split has), then, for
    procedural styles, a kind uniformly, then a style of it uniformly (mirrors included).
    """
    styles = catalogue(split, real=real)
    if not styles:
        raise InputError(f"split {split!r} has no styles")
    rng = np.random.default_rng([int(seed), _stable_int(split), 41])
    by_family: dict[str, list[StyleSpec]] = {}
    for s in styles:
        by_family.setdefault(s.family, []).append(s)
    fams = [f for f in FAMILY_WEIGHTS if f in by_family]
    w = np.array([FAMILY_WEIGHTS[f] for f in fams])
    fam = fams[int(rng.choice(len(fams), p=w / w.sum()))]
    pool = by_family[fam]
    if fam == "proc":
        kinds = sorted({s.kind for s in pool}, key=PROC_KINDS.index)
        kind = kinds[int(rng.integers(len(kinds)))]
        pool = [s for s in pool if s.kind == kind]
    return pool[int(rng.integers(len(pool)))]
