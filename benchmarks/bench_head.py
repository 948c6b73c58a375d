"""Per-stage time and peak memory of the head (fit + assemble + texture) over the portraits.

    python benchmarks/bench_head.py [--photos ../shared/data/portraits] [--spacing METRES]

Face landmarks, camera and face mesh are computed first (not timed here: bench_face.py); then
per photo: the head fit, the implicit surface (face height field, sampled field, marching
cubes), the texture, the scalp, and the face fidelity (distance of the central face to the
input face mesh, mm). Also: vertex count, watertightness, CPU time. Target (issue 5): head
without strands <= 2 s per photo on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import time

from _common import SHARED_DATA, peak_rss_mb, print_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=str(SHARED_DATA / "portraits"))
    ap.add_argument(
        "--spacing",
        type=float,
        default=None,
        help="grid spacing, metres (default: 2 mm x head scale when above 1)",
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos")
    args = ap.parse_args()

    import trimesh

    from monoscan.face.camera import estimate_camera
    from monoscan.face.mesh import build_face_mesh
    from monoscan.head.assemble import assemble_head, face_fidelity
    from monoscan.head.fit import fit_head
    from monoscan.io.images import load_image
    from monoscan.perception.face import detect_face_landmarks

    photos = sorted(
        (p for p in os.scandir(args.photos) if p.name.lower().endswith((".jpg", ".jpeg", ".png"))),
        key=lambda p: p.name,
    )
    if args.limit:
        photos = photos[: args.limit]
    inputs = []
    for p in photos:
        rgb = load_image(p.path).rgb
        face = detect_face_landmarks(rgb)
        cam = estimate_camera(face.points)
        inputs.append(
            (
                p.name,
                rgb,
                cam,
                cam.photo_to_world(face.points),
                build_face_mesh(rgb, face.points, cam),
            )
        )
    rss_before = peak_rss_mb()
    rows, walls, cpus = [], [], []
    for name, rgb, cam, world, face_mesh in inputs:
        w0, c0 = time.perf_counter(), time.process_time()
        fitted = fit_head(world)
        t_fit = time.perf_counter() - w0
        head = assemble_head(face_mesh, fitted, rgb, cam, spacing=args.spacing)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        walls.append(wall)
        cpus.append(cpu)
        tm = head.timings
        closed = trimesh.Trimesh(head.vertices, head.faces, process=False).is_watertight
        fid = face_fidelity(head, face_mesh)
        rows.append(
            [
                name[:32],
                t_fit,
                tm["face_field"],
                tm["sdf"],
                tm["marching_cubes"],
                tm["texture"],
                tm["scalp"],
                wall,
                cpu,
                len(head.vertices),
                "yes" if closed else "NO",
                fid["mean_mm"],
                fid["p95_mm"],
            ]
        )
    print_table(
        [
            "photo",
            "fit s",
            "face field s",
            "field s",
            "march s",
            "texture s",
            "scalp s",
            "total s",
            "cpu s",
            "vertices",
            "closed",
            "face mean mm",
            "face p95 mm",
        ],
        rows,
    )
    walls.sort()
    print(
        f"\nphotos: {len(rows)}; total per photo: median {walls[len(walls) // 2]:.2f} s, "
        f"max {walls[-1]:.2f} s (CPU median {sorted(cpus)[len(cpus) // 2]:.2f} s); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"peak RSS: {peak_rss_mb():.0f} MiB (before heads: {rss_before:.0f} MiB)")


if __name__ == "__main__":
    main()
