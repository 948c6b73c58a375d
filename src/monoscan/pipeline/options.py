"""What a run of :func:`monoscan.pipeline.reconstruct` does: :class:`Options` and the formats."""

from __future__ import annotations

from dataclasses import dataclass

from monoscan.core.errors import InputError
from monoscan.io.results import MESH_FORMATS
from monoscan.perception.face import MIN_FACE_PX

__all__ = ["ALL_FORMATS", "DEFAULT_FORMATS", "MESH_FORMATS", "STRAND_FORMATS", "Options"]

#: Strand formats (``ply`` in ``formats`` also writes ``strands.ply``; ``glb`` ``hair.glb``).
STRAND_FORMATS = ("data", "hair", "usdc", "usda", "abc")
ALL_FORMATS = MESH_FORMATS + STRAND_FORMATS
DEFAULT_FORMATS = MESH_FORMATS + ("data", "hair", "usdc")


#: The head models ``Options.head_model`` names.
HEAD_MODELS = ("ict", "parametric")
#: What ``Options.expression`` may ask of the ICT head.
EXPRESSIONS = ("photo", "neutral")
#: Where ``Options.hair_model`` takes the growth direction and hair depth from.
HAIR_MODELS = ("prior", "learned")


@dataclass(frozen=True)
class Options:
    """What :func:`reconstruct` does.

    Attributes
    ----------
    face_index : int
        Which detected face to use, counting from the largest (0).
    min_face_px : float
        Smallest face accepted (pixels, detector box width).
    subdivisions : int
        Loop subdivision passes of the face mesh.
    person : bool
        Run person segmentation and body pose.
    hair : bool
        Compute the HairStep hair maps (segmentation, parsing, strand map, depth).
    body : bool
        Also reconstruct the full body (``monoscan body``), written to ``body/``.
    head : bool
        Fit a head model and write the closed textured head mesh.
    head_model : {"ict", "parametric"}
        ``"ict"``: the ICT Face Model (identity and expression fitted to the landmarks,
        :mod:`monoscan.head.ict`); ``"parametric"``: our earlier parametric head with the
        photo's face mesh blended in (:mod:`monoscan.head.assemble`).
    expression : {"photo", "neutral"}
        The ICT head's expression: the photo's (default) or none (a neutral head to rig; the
        fitted weights stay in ``head_fit.json``).
    blendshapes : bool
        Also write the ICT head with its 57 expression shapes: ``expressions.glb`` (morph
        targets) and ``expressions.usdc`` (UsdSkel blend shapes; ``.usda`` when ``formats``
        has ``usda``).
    occlusion : bool
        Find what covers the face (hair, hands, objects), fill the face texture under it and
        fit the head to landmarks re-fitted on the filled photo (``monoscan.face.occlusion``).
    strands : int
        Number of 3D hair strands to grow (0: none; needs ``hair`` and ``head``).
    seed : int
        Seed for everything random (strand roots).
    face_detail : bool
        Displace the face mesh by the photo's fine shading (wrinkles, creases; under 0.5 mm,
        ``monoscan.face.detail``). Off by default: albedo (brows, stubble, make-up) is carved too.
    hair_model : {"learned", "prior"}
        Growth direction and hair depth, and the 3D hair volume and growth field:
        ``"learned"``, the networks of :mod:`monoscan.hair.learned` and
        :mod:`monoscan.hair.learned3d` (default), or ``"prior"``, the hand-made priors
        (:mod:`monoscan.hair.direction`, :mod:`monoscan.hair.depth`,
        :mod:`monoscan.hair.volume`, :mod:`monoscan.hair.field`).
    formats : tuple of str
        What to write: mesh formats ``obj``, ``glb``, ``ply`` (face, head; ``ply`` and ``glb``
        also the strands as a line set) and strand formats ``data`` (USC), ``hair`` (Cem
        Yuksel), ``usdc``/``usda`` (USD BasisCurves), ``abc`` (Alembic, needs bpy).
    """

    face_index: int = 0
    min_face_px: float = MIN_FACE_PX
    subdivisions: int = 2
    person: bool = True
    hair: bool = True
    body: bool = False
    head: bool = True
    head_model: str = "ict"
    expression: str = "photo"
    blendshapes: bool = False
    occlusion: bool = True
    strands: int = 10_000
    seed: int = 0
    face_detail: bool = False
    hair_model: str = "learned"
    formats: tuple[str, ...] = DEFAULT_FORMATS

    def __post_init__(self) -> None:
        if self.face_index < 0:
            raise InputError(f"face index must be >= 0, got {self.face_index}")
        if not 0 <= self.subdivisions <= 4:
            raise InputError(f"subdivisions must be 0..4, got {self.subdivisions}")
        unknown = set(self.formats) - set(ALL_FORMATS)
        if unknown:
            raise InputError(f"unknown format(s) {sorted(unknown)}; choose from {ALL_FORMATS}")
        if not 0 <= self.strands <= 1_000_000:
            raise InputError(f"strands must be 0..1000000, got {self.strands}")
        if self.head_model not in HEAD_MODELS:
            raise InputError(f"unknown head model {self.head_model!r}; choose from {HEAD_MODELS}")
        if self.hair_model not in HAIR_MODELS:
            raise InputError(f"unknown hair model {self.hair_model!r}; choose from {HAIR_MODELS}")
        if self.expression not in EXPRESSIONS:
            raise InputError(f"unknown expression {self.expression!r}; choose from {EXPRESSIONS}")
        if self.head_model != "ict" and (self.expression != "photo" or self.blendshapes):
            raise InputError("--expression and --blendshapes need the ICT head (--head-model ict)")
