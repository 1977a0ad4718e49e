"""Deterministic synthetic fingers (the SFinGe recipe, simplified).

A finger id seeds everything: the pattern class (arch, tented arch, left/right loop, whorl),
its singular points, the orientation field (Sherlock-Monro zero-pole model of cores and deltas),
a smooth ridge-frequency map, and the ridge pattern itself, grown by iterated oriented band-pass
(Gabor-like) filtering of sparse noise.  Minutiae appear where growth fronts meet and where the
frequency map asks for more ridges, as in SFinGe.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as _fft
from scipy import ndimage as ndi

__all__: list[str] = []

#: master image side (pixels, about 500 dpi).  Larger than any sensor window so that captures
#: can shift and rotate inside it.
MASTER = 480
_N_ORIENT = 16
_CLASSES = ("arch", "tented_arch", "left_loop", "right_loop", "whorl")
# Rough natural frequencies of the classes (loops dominate).
_CLASS_P = (0.06, 0.06, 0.33, 0.31, 0.24)
_SEED_SALT = 0x5F1C_E11A
_GROW = 256  # growth grid side (half resolution, covers more than the master)
_SEED_DENSITY = 0.008  # growth seeds per pixel: more seeds, more minutiae where fronts meet


@dataclass(frozen=True, slots=True)
class Finger:
    """A synthetic finger: its master ridge field and finger-shape parameters."""

    finger_id: int
    pattern: str
    ridges: np.ndarray  # float32 (MASTER, MASTER), about -1 (valley) .. +1 (ridge)
    orientation: np.ndarray  # float32 ridge direction, radians mod pi
    period: np.ndarray  # float32 local ridge period in pixels (the frequency map's inverse)
    center: tuple[float, float]  # finger pad centre (row, col) in master coordinates
    axes: tuple[float, float]  # pad ellipse semi-axes (rows, cols)


def _rng_for(finger_id: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([_SEED_SALT, int(finger_id)]))


def _orientation(pattern: str, rng: np.random.Generator, yy: np.ndarray,
                 xx: np.ndarray) -> np.ndarray:
    """Ridge orientation (radians, mod pi) from the zero-pole model of the pattern class."""
    cy = rng.uniform(-35, 5)
    cx = rng.uniform(-20, 20)
    # Image rows grow downwards: mirror y so the zero-pole angles turn the usual way.
    z = (xx - cx) - 1j * (yy - cy)
    if pattern == "arch":
        # No singular points: ridges bend over a hump whose height fades downwards.
        s = rng.uniform(70, 110)
        amp = rng.uniform(0.8, 1.4)
        fade = 1.0 / (1.0 + np.exp((yy - cy - 60) / 40.0))
        slope = -amp * (xx - cx) / s * np.exp(-((xx - cx) ** 2) / (2 * s * s)) * fade
        return np.mod(np.arctan(slope), np.pi)
    cores: list[complex] = []
    deltas: list[complex] = []
    if pattern == "tented_arch":
        cores = [0j]
        deltas = [complex(rng.uniform(-8, 8), -rng.uniform(55, 80))]
    elif pattern in ("left_loop", "right_loop"):
        side = -1.0 if pattern == "left_loop" else 1.0
        cores = [0j]
        deltas = [complex(side * rng.uniform(90, 130), -rng.uniform(100, 140))]
    else:  # whorl: two cores, two deltas
        d = rng.uniform(18, 32)
        tilt = rng.uniform(-0.5, 0.5)
        off = d * np.exp(1j * (np.pi / 2 + tilt))
        cores = [off / 2, -off / 2]
        deltas = [complex(-rng.uniform(100, 140), -rng.uniform(100, 140)),
                  complex(rng.uniform(100, 140), -rng.uniform(100, 140))]
    ang = np.zeros(z.shape)
    for c in cores:
        ang += np.angle(z - c)
    for d in deltas:
        ang -= np.angle(z - d)
    # Sherlock-Monro in the mirrored frame; negate back to image (rows-down) angles.
    return np.mod(-0.5 * ang, np.pi)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    n = ndi.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return n / (n.std() + 1e-12)


def _band_filters(shape: tuple[int, int], freq: float, radial: float, angular: float) -> np.ndarray:
    """Frequency responses (rfft2 layout) of oriented band-pass filters, one per direction bin."""
    fy = _fft.fftfreq(shape[0])[:, None]
    fx = _fft.rfftfreq(shape[1])[None, :]
    out = np.empty((_N_ORIENT,) + fx.shape[1:] if False else (_N_ORIENT, shape[0], fx.shape[1]),
                   dtype=np.float32)
    sr = freq * radial  # bandwidth across the ridges (tolerates period variation)
    st = freq * angular  # bandwidth along them (narrower = longer kernel, bridges gaps)
    for k in range(_N_ORIENT):
        phi = k * np.pi / _N_ORIENT  # ridge direction; the wave runs along the normal
        nx, ny = -np.sin(phi), np.cos(phi)
        un = fx * nx + fy * ny
        ut = fx * ny - fy * nx
        g = (np.exp(-((un - freq) ** 2) / (2 * sr * sr) - ut**2 / (2 * st * st))
             + np.exp(-((un + freq) ** 2) / (2 * sr * sr) - ut**2 / (2 * st * st)))
        out[k] = g
    return out


@lru_cache(maxsize=8)
def _filters_cached(shape: tuple[int, int], freq_milli: int, radial: float,
                    angular: float) -> np.ndarray:
    return _band_filters(shape, freq_milli / 1000.0, radial, angular)


def oriented_filter(image: np.ndarray, theta: np.ndarray, freq: float,
                    radial: float = 0.22, angular: float = 0.30) -> np.ndarray:
    """Filter each pixel with the band-pass filter of its own ridge direction.

    All direction bins are filtered in the Fourier domain at once, then each pixel takes the
    linear blend of its two nearest bins.  (A per-pixel spatial Gabor loop is what this avoids.)
    """
    shape = image.shape
    bank = _filters_cached(shape, int(round(freq * 1000)), radial, angular)
    spec = _fft.rfft2(image.astype(np.float32))
    resp = _fft.irfft2(spec[None, :, :] * bank, s=shape, axes=(1, 2), workers=2)
    pos = np.mod(theta, np.pi) / (np.pi / _N_ORIENT)
    k0 = np.floor(pos).astype(np.intp) % _N_ORIENT
    k1 = (k0 + 1) % _N_ORIENT
    w = (pos - np.floor(pos)).astype(np.float32)
    r0 = np.take_along_axis(resp, k0[None], axis=0)[0]
    r1 = np.take_along_axis(resp, k1[None], axis=0)[0]
    return (1 - w) * r0 + w * r1


@lru_cache(maxsize=64)
def make_finger(finger_id: int) -> Finger:
    """The synthetic finger for ``finger_id`` (deterministic; cached)."""
    rng = _rng_for(finger_id)
    pattern = _CLASSES[int(rng.choice(len(_CLASSES), p=_CLASS_P))]
    n = MASTER
    # Ridges grow on a half-resolution grid (periods of ~4-5 cells are plenty for the
    # band-pass filters, at a quarter of the cost) a little larger than the master, so the
    # FFT's wrap-around seam falls outside it; then they are interpolated up.
    g = _GROW
    yy, xx = np.mgrid[0:g, 0:g].astype(np.float64)
    yy = (yy - g / 2) * 2.0
    xx = (xx - g / 2) * 2.0
    # Gentle random rotation of the whole pattern, as fingers are never quite upright.
    rot = rng.uniform(-0.2, 0.2)
    yr = yy * np.cos(rot) - xx * np.sin(rot)
    xr = yy * np.sin(rot) + xx * np.cos(rot)
    theta = np.mod(_orientation(pattern, rng, yr, xr) - rot, np.pi)
    # Small smooth orientation noise: real ridge flow is never a perfect model.
    theta = np.mod(theta + 0.08 * _smooth_noise(rng, (g, g), 12), np.pi)
    # Ridge frequency map: the local period wanders smoothly around the finger's own; where
    # it shrinks new ridges must start, which is where real minutiae come from.
    base_period = rng.uniform(8.6, 10.4)
    period = base_period * np.clip(1.0 + 0.16 * _smooth_noise(rng, (g, g), 14), 0.84, 1.2)
    f_hi, f_lo = 2.0 / (base_period * 0.84), 2.0 / (base_period * 1.2)  # per grid cell
    w_hi = ((2.0 / period - f_lo) / (f_hi - f_lo)).astype(np.float32)
    img = np.zeros((g, g), np.float32)
    seeds = rng.random((g, g)) < _SEED_DENSITY
    img[seeds] = rng.choice([-1.0, 1.0], size=int(seeds.sum()))
    for _ in range(14):
        img = (w_hi * oriented_filter(img, theta, f_hi, 0.18, 0.30)
               + (1 - w_hi) * oriented_filter(img, theta, f_lo, 0.18, 0.30))
        # Local amplitude normalisation lets every growth front reach full contrast, so the
        # fronts meet in crisp ridge endings and bifurcations rather than grey smudges.
        env = np.sqrt(ndi.gaussian_filter(img * img, 3.0)) + 1e-6 * (1 + img.std())
        img = np.clip(img / env * 1.5, -1, 1).astype(np.float32)
    off = (2 * g - n) // 2
    ridges = ndi.zoom(img, 2, order=3, mode="grid-wrap", grid_mode=True)[off:off + n, off:off + n]
    ridges = np.clip(ridges, -1, 1).astype(np.float32)
    orient = ndi.zoom(theta, 2, order=0)[off:off + n, off:off + n].astype(np.float32)
    period_map = ndi.zoom(period, 2, order=1)[off:off + n, off:off + n].astype(np.float32)
    center = (n / 2 + rng.uniform(5, 25), n / 2 + rng.uniform(-10, 10))
    axes = (rng.uniform(215, 245), rng.uniform(150, 175))
    return Finger(finger_id, pattern, ridges, orient, period_map, center, axes)
