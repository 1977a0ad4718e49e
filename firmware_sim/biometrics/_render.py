"""Render one sensor capture of a synthetic finger (what GenImg puts in the image buffer)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ._synth import MASTER, make_finger

__all__: list[str] = []


def _blobs(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth random field, zero mean, unit deviation (skin texture, moisture, pressure)."""
    n = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return n / (n.std() + 1e-9)


def render_capture(finger_id: int, quality: int, rng: np.random.Generator,
                   *, width: int, height: int) -> np.ndarray:
    """A grey-level optical capture of finger ``finger_id``: uint8 (height, width).

    Dark ridges on a light background, ~255 where no skin touches.  ``quality`` 0..100 scales
    every impairment (100 = ideal placement and skin); ``rng`` draws this capture's placement,
    contact, moisture and noise, so the result is deterministic for (finger_id, rng state).
    """
    if width < 16 or height < 16 or width > MASTER or height > MASTER:
        raise ValueError(f"sensor size {width}x{height} out of range 16..{MASTER}")
    finger = make_finger(int(finger_id))
    q = float(np.clip(quality, 0, 100)) / 100.0
    bad = 1.0 - q

    # -- placement: the window's centre in master coordinates, rotation about it ---------------
    ang = np.deg2rad(float(np.clip(rng.normal(0.0, 3.0 + 12.0 * bad), -30, 30)))
    spread = 8.0 + 30.0 * bad
    shift = np.clip(rng.normal(0.0, spread, 2), -45, 45)
    # The sensor sees the upper-middle of the pad (where the core sits) more often than the tip.
    cr = finger.center[0] - 30.0 + shift[0]
    cc = finger.center[1] + shift[1]
    ca, sa = np.cos(ang), np.sin(ang)
    rr, cc_ = np.mgrid[0:height, 0:width].astype(np.float32)
    rr -= (height - 1) / 2.0
    cc_ -= (width - 1) / 2.0
    mr = cr + ca * rr - sa * cc_
    mc = cc + sa * rr + ca * cc_
    # Skin is elastic: pressing and dragging distort the print a few pixels, smoothly.
    stretch = 1.5 + 4.0 * bad
    small = (max(2, height // 32), max(2, width // 32))
    for grid in (mr, mc):
        field = ndi.zoom(rng.standard_normal(small).astype(np.float32),
                         (height / small[0], width / small[1]), order=3, mode="reflect",
                         grid_mode=True)
        grid += stretch * field[:height, :width]
    ridges = ndi.map_coordinates(finger.ridges, [mr, mc], order=1, mode="reflect")

    # -- contact: the pad ellipse, shrunk by light pressure, cut by a tilted finger ------------
    press = float(np.clip(rng.normal(0.97 - 0.25 * bad, 0.04 + 0.08 * bad), 0.55, 1.08))
    er = (mr - finger.center[0]) / (finger.axes[0] * press)
    ec = (mc - finger.center[1]) / (finger.axes[1] * press)
    ell = np.sqrt(er * er + ec * ec)
    contact = np.clip((1.0 - ell) * 14.0, 0.0, 1.0)
    if rng.random() < 0.15 + 0.6 * bad:
        # Rolled or tilted finger: one side of the window lifts off the glass.
        phi = rng.uniform(0, 2 * np.pi)
        d = rng.uniform(0.35, 0.9) * min(width, height) / 2.0 * (0.6 + q)
        side = rr * np.cos(phi) + cc_ * np.sin(phi)
        contact *= np.clip((d - side) / 6.0, 0.0, 1.0)
    # Pressure fades towards the contact edge: ridges there print thinner and paler.
    edge = np.clip((1.0 - ell) * 4.0, 0.0, 1.0)

    # -- skin: dryness breaks ridges, wetness thickens and merges them ----------------------------
    moist = float(rng.normal(0.0, 0.08 + 0.25 * bad + 0.5 * bad * bad))  # <0 dry, >0 wet
    ink_bias = 0.0 + 0.45 * moist - 0.4 * (1.0 - edge)
    if moist > 0:
        ridges = ndi.gaussian_filter(ridges, 0.6 + 2.2 * moist)
    ink = 1.0 / (1.0 + np.exp(-4.0 * (ridges + ink_bias)))
    # Dry skin: ridges print in pieces where the skin texture field dips.
    dry = min(1.0, max(0.0, -moist) * (0.3 + 1.2 * bad) + 0.15 * bad)
    tex = _blobs(rng, (height, width), 1.6)
    ink *= np.clip((tex + 2.8 - 4.0 * dry) * 1.5, 0.0, 1.0)
    pores = _blobs(rng, (height, width), 0.8)
    ink *= 1.0 - 0.08 * np.clip(pores - 1.5, 0.0, 1.0)

    # -- optics: contrast, valley level, blur and sensor noise -----------------------------------
    contrast = float(np.clip(rng.normal(0.62 + 0.28 * q, 0.05), 0.15, 0.95))
    valley = float(rng.uniform(0.06, 0.18))
    dark = contact * (valley + contrast * ink)
    img = 250.0 - 235.0 * dark
    img = ndi.gaussian_filter(img, 0.6 + 0.6 * bad)
    img += rng.normal(0.0, 2.0 + 4.0 * bad + 55.0 * bad**3, img.shape)
    # Uneven illumination across the prism.
    img += 10.0 * bad * _blobs(rng, (height, width), 40.0)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
