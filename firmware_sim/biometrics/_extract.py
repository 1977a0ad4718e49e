"""Minutiae extraction from a grey-level fingerprint image (what Img2Tz does).

Pipeline: foreground segmentation by local contrast -> normalisation -> ridge orientation from
the smoothed gradient structure tensor -> oriented band-pass (Gabor-like) enhancement ->
binarisation -> skeleton (scikit-image) -> crossing-number minutiae -> removal of border,
spur, bridge and broken-ridge artefacts -> quality checks.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import measure, morphology

from ._errors import FingerImageError
from ._synth import oriented_filter
from ._template import BIFURCATION, ENDING, Minutiae, capacity, encode

__all__: list[str] = []

_FREQ = 1.0 / 9.5  # nominal ridge frequency at ~500 dpi
_RADIAL_BW = 0.24  # relative bandwidth across ridges: periods of about 8..12 pixels pass
_ANGULAR_BW = 0.13  # along ridges: long enough to bridge breaks of dry skin
_MIN_AREA = 9000  # pixels of usable print: below this the capture is "too few points"
_MIN_MINUTIAE = 10
_BORDER = 10.0  # minutiae closer than this to the print's edge are artefacts of the edge


_FOUR = ndi.generate_binary_structure(2, 1)
_EIGHT = ndi.generate_binary_structure(2, 2)


def _drop_small(mask: np.ndarray, min_size: int, structure: np.ndarray) -> np.ndarray:
    """``mask`` without connected parts smaller than ``min_size`` pixels.

    (skimage's remove_small_objects renamed its size argument between 0.22 and 0.26; label +
    bincount does the same job on every version.)
    """
    lab, _ = ndi.label(mask, structure=structure)
    sizes = np.bincount(lab.ravel())
    big = sizes >= min_size
    big[0] = False
    return big[lab]


def _foreground(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = ndi.gaussian_filter(g, 8.0)
    var = ndi.gaussian_filter(g * g, 8.0) - mean * mean
    std = np.sqrt(np.maximum(var, 0.0))
    fg = std > 14.0
    fg = ndi.binary_opening(fg, iterations=4)
    fg = ndi.binary_fill_holes(fg)
    lab, n = ndi.label(fg)
    if n > 1:
        sizes = ndi.sum_labels(fg, lab, index=np.arange(1, n + 1))
        fg = lab == (1 + int(np.argmax(sizes)))
    return fg, mean, std


def _orientation(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge direction (radians mod pi) and coherence 0..1 from the gradient structure tensor."""
    gy = ndi.gaussian_filter(g, 1.0, order=(1, 0))
    gx = ndi.gaussian_filter(g, 1.0, order=(0, 1))
    jxx = ndi.gaussian_filter(gx * gx, 6.0)
    jyy = ndi.gaussian_filter(gy * gy, 6.0)
    jxy = ndi.gaussian_filter(gx * gy, 6.0)
    grad = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    coh = np.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy) / (jxx + jyy + 1e-9)
    return np.mod(grad + np.pi / 2, np.pi), coh


def _crossing_number(sk: np.ndarray) -> np.ndarray:
    """Crossing number of every skeleton pixel (8 shifted copies, no per-pixel loop)."""
    p = np.pad(sk.astype(np.int8), 1)
    h, w = sk.shape
    ring = [(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]
    nb = [p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in ring]
    cn = sum(np.abs(nb[i] - nb[(i + 1) % 8]) for i in range(8)) // 2
    return np.where(sk, cn, 0)


def _directions(sk: np.ndarray, ys: np.ndarray, xs: np.ndarray, kinds: np.ndarray,
                theta: np.ndarray) -> np.ndarray:
    """Full 0..2pi minutia directions: the ridge orientation, its sense taken from the skeleton.

    For an ending the direction points away from the ridge it ends; for a bifurcation towards
    the side where the two branches go.  One small labelling per minutia (not per pixel).
    """
    r = 7
    pad = np.pad(sk, r)
    out = np.empty(len(ys), np.float32)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    for i, (y, x, k) in enumerate(zip(ys, xs, kinds)):
        patch = pad[y:y + 2 * r + 1, x:x + 2 * r + 1]
        lab = measure.label(patch, connectivity=2)
        own = lab == lab[r, r]
        vy = float(yy[own].mean())
        vx = float(xx[own].mean())
        t = float(theta[y, x])
        d = np.array([np.cos(t), np.sin(t)])
        s = d[0] * vx + d[1] * vy
        if k == ENDING:
            s = -s
        out[i] = t if s >= 0 else t + np.pi
    return np.mod(out, 2 * np.pi)


def _wrap_pi(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def _drop_close_pairs(ys: np.ndarray, xs: np.ndarray, kinds: np.ndarray,
                      angles: np.ndarray) -> np.ndarray:
    """Keep-mask after removing spurs, bridges, holes and broken ridges (too-close pairs)."""
    n = len(ys)
    if n < 2:
        return np.ones(n, bool)
    d = np.hypot(ys[:, None] - ys[None, :], xs[:, None] - xs[None, :])
    np.fill_diagonal(d, np.inf)
    ee = (kinds[:, None] == ENDING) & (kinds[None, :] == ENDING)
    bb = (kinds[:, None] == BIFURCATION) & (kinds[None, :] == BIFURCATION)
    eb = ~ee & ~bb
    # Two endings facing each other across a short gap are one ridge broken by dry skin.
    facing = np.abs(_wrap_pi(angles[:, None] - angles[None, :] - np.pi)) < np.deg2rad(50)
    bad = (ee & ((d < 10.0) | ((d < 18.0) & facing))) | (bb & (d < 10.0)) | (eb & (d < 10.0))
    keep = ~bad.any(axis=1)
    # Clusters (many minutiae in a small disc) are noise, not ridge detail.
    keep &= (d < 16.0).sum(axis=1) < 3
    return keep


def extract_minutiae(image: np.ndarray) -> tuple[Minutiae, dict[str, float]]:
    """Minutiae of one image and the quality figures that decided on it."""
    img = np.asarray(image)
    if img.ndim != 2 or img.shape[0] < 64 or img.shape[1] < 64:
        raise FingerImageError(0x07, f"image of shape {img.shape} is not a fingerprint capture")
    g = img.astype(np.float32)
    fg, mean, std = _foreground(g)
    area = int(fg.sum())
    if area < _MIN_AREA:
        raise FingerImageError(0x07, f"no finger or too small a contact area ({area} pixels)")
    norm = np.where(fg, (mean - g) / (std + 1e-3), 0.0).astype(np.float32)  # ridges > 0
    theta, coh = _orientation(norm)
    inner = ndi.binary_erosion(fg, iterations=6)
    clarity = float(coh[inner].mean()) if inner.any() else 0.0
    if clarity < 0.47:
        raise FingerImageError(0x06, f"image too messy: ridge flow clarity {clarity:.2f}")
    enh = oriented_filter(norm, theta, _FREQ, radial=_RADIAL_BW, angular=_ANGULAR_BW)
    ridge = (enh > 0) & fg
    ridge = _drop_small(ridge, 30, _FOUR)
    ridge = ~_drop_small(~ridge, 30, _FOUR)  # fill pin-holes (pores, noise) in ridges
    sk = morphology.skeletonize(ridge)
    sk = _drop_small(sk, 12, _EIGHT)
    cn = _crossing_number(sk)
    # Pad with background: the image frame is a print edge too.
    border = ndi.distance_transform_edt(np.pad(fg, 1))[1:-1, 1:-1]
    cand = ((cn == 1) | (cn == 3)) & (border > _BORDER)
    ys, xs = np.nonzero(cand)
    kinds = np.where(cn[ys, xs] == 1, ENDING, BIFURCATION).astype(np.int8)
    raw = len(ys)
    angles = _directions(sk, ys, xs, kinds, theta)
    keep = _drop_close_pairs(ys, xs, kinds, angles)
    ys, xs, kinds, angles = ys[keep], xs[keep], kinds[keep], angles[keep]
    density = raw / (area / 10000.0)
    if density > 60.0:
        raise FingerImageError(0x06, f"image too messy: {raw} ridge breaks in {area} pixels")
    if len(ys) < _MIN_MINUTIAE:
        raise FingerImageError(0x07, f"too few feature points ({len(ys)})")
    # Reliability: clear ridge flow, away from the print's edge.
    rel = np.clip(63 * coh[ys, xs] * np.minimum(1.0, border[ys, xs] / 40.0), 0, 63)
    m = Minutiae(xs.astype(np.float32), ys.astype(np.float32), angles, kinds,
                 rel.astype(np.float32))
    return m, {"area": area, "clarity": clarity, "raw": raw, "kept": len(ys)}


def trim(m: Minutiae, n: int) -> Minutiae:
    """The ``n`` most reliable minutiae of ``m``."""
    if len(m) <= n:
        return m
    idx = np.sort(np.argsort(-m.reliability, kind="stable")[:n])
    return Minutiae(m.x[idx], m.y[idx], m.angle[idx], m.kind[idx], m.reliability[idx], m.merged)


def extract_template(image: np.ndarray, *, size: int) -> bytes:
    """Template of exactly ``size`` bytes from any fingerprint image (works on 4-bit images)."""
    m, _ = extract_minutiae(image)
    return encode(trim(m, capacity(size)), size)
