"""Minutiae matcher: local descriptors, alignment search, pairing, score; merge; 1:N search.

Each minutia gets a fixed-length, rotation- and translation-invariant local descriptor (a
simplified Minutia Cylinder-Code: a grid of cells around the minutia in its own frame, each
accumulating its neighbours by distance and relative direction; cells outside the print are
marked invalid and two descriptors are compared over the cells valid in both).  Descriptor
similarities propose alignment hypotheses (rotation + translation from one minutia pair, rotation
bounded as fingers go onto a sensor roughly upright); each hypothesis is scored by how many
minutiae then pair up within distance and angle tolerances; the best is refined by a
least-squares rigid fit.  The score is the classic n^2 / (nA * nB) over the minutiae inside the
common area, where n counts each pair by the similarity of its two neighbourhoods.

1:N screens the whole library with one matrix product of pooled descriptors, then runs the full
matcher on a short list.  Decoded features are cached by template bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._errors import MergeError
from ._template import Minutiae, capacity, decode, encode

__all__: list[str] = []

_R = 70.0  # descriptor radius, pixels
_NS = 8  # cells per side of the descriptor grid
_ND = 4  # relative-direction bins
_SIG_S = 8.0
_VALID_R = 36.0  # a cell farther than this from every minutia is outside the print
_MIN_COMMON = 0.5  # neighbourhoods sharing fewer valid cells than this are not compared
_SIG_D = 2 * np.pi / _ND * 0.55
_PAIR_DIST = 10.0
_PAIR_ANGLE = np.deg2rad(20.0)
_OVERLAP = 30.0  # a minutia is in the common area when the other print has one this close
_HYPOTHESES = 16
_MAX_ROT = np.deg2rad(40.0)
_MIN_COUNT = 14  # floor of the normalising counts, so a tiny overlap cannot score high
_SCALE = 1000.0
_SIM_FLOOR = 0.1  # descriptor similarity that earns a pair no weight
_TYPE_MISMATCH = 0.3  # weight of a pair whose minutia kinds differ
_N_SATURATE = 6.0  # below this many (weighted) pairs the score is scaled down
_PREFILTER_POINTS = 32  # library minutiae per entry in the 1:N screening
_PREFILTER_PROBE = 24  # probe minutiae in the screening
_SHORTLIST = 5

_half = _R - _R / _NS
_g = np.linspace(-_half, _half, _NS)
_cx, _cy = np.meshgrid(_g, _g)
_inside = np.hypot(_cx, _cy) <= _R
_CELLS = np.stack([_cx[_inside], _cy[_inside]], axis=1).astype(np.float32)  # (C, 2)
# 2x2 pooling of the cell grid for the 1:N screening descriptor: (C, B) membership matrix.
_blk = ((_cy[_inside] + _R) // (2 * _R / (_NS // 2))).astype(int) * (_NS // 2) + (
    (_cx[_inside] + _R) // (2 * _R / (_NS // 2))).astype(int)
_POOL = (np.unique(_blk, return_inverse=True)[1][:, None]
         == np.arange(len(np.unique(_blk)))[None, :]).astype(np.float32)
_DBINS = ((np.arange(_ND) + 0.5) * 2 * np.pi / _ND).astype(np.float32)


def _wrap(a: np.ndarray) -> np.ndarray:
    """Angle difference folded into -pi..pi."""
    return (a + np.pi) % (2 * np.pi) - np.pi


@dataclass(frozen=True, slots=True, eq=False)
class Features:
    """Decoded template, ready to match."""

    pts: np.ndarray  # (n, 2) float32 x, y
    ang: np.ndarray  # (n,) float32
    minutiae: Minutiae
    cells: np.ndarray  # (n, C, ND) float32 cylinder cell values, 0..1
    valid: np.ndarray  # (n, C) bool: cell lies inside the print (near some minutia)
    desc: np.ndarray  # (n, B*ND) float32 unit rows: cells pooled 2x2 (for quick screening)
    order: np.ndarray  # indices by decreasing reliability (for the 1:N pre-filter)


def _cylinders(pts: np.ndarray, ang: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(pts)
    c, s = np.cos(ang), np.sin(ang)
    # Cell centres of every minutia's grid in image coordinates: (n, C).
    gx = pts[:, None, 0] + c[:, None] * _CELLS[None, :, 0] - s[:, None] * _CELLS[None, :, 1]
    gy = pts[:, None, 1] + s[:, None] * _CELLS[None, :, 0] + c[:, None] * _CELLS[None, :, 1]
    d2 = ((gx[:, :, None] - pts[None, None, :, 0]) ** 2
          + (gy[:, :, None] - pts[None, None, :, 1]) ** 2)
    # A cell is inside the print when some minutia is near it (a cheap stand-in for the
    # print's hull); outside cells carry no information and are left out of comparisons.
    valid = d2.min(axis=2) < _VALID_R**2
    spatial = np.exp(-d2 / (2 * _SIG_S**2)).astype(np.float32)  # (n, C, n)
    idx = np.arange(n)
    spatial[idx, :, idx] = 0.0  # a minutia is not its own neighbour
    rel = _wrap(ang[None, :] - ang[:, None])  # (n, n): neighbour direction in i's frame
    dd = _wrap(rel[:, :, None] - _wrap(_DBINS)[None, None, :])
    dirw = np.exp(-dd * dd / (2 * _SIG_D**2)).astype(np.float32)  # (n, n, ND)
    raw = np.einsum("icj,ijk->ick", spatial, dirw)
    # Saturate, so one extra or missing neighbour cannot dominate a cell.
    cells = (1.0 - np.exp(-1.5 * raw)).astype(np.float32) * valid[:, :, None]
    return cells, valid


def _local_similarity(fa: "Features", fb: "Features") -> np.ndarray:
    """(nA, nB) similarity 0..1 of minutia neighbourhoods, over the cells valid in both."""
    if len(fa.ang) == 0 or len(fb.ang) == 0:
        return np.zeros((len(fa.ang), len(fb.ang)), np.float32)
    # Cells are zero outside their own print, so every masked sum is a plain matrix product.
    va, vb = fa.valid.astype(np.float32), fb.valid.astype(np.float32)
    a2 = (fa.cells**2).sum(2)  # (nA, C)
    b2 = (fb.cells**2).sum(2)
    na2 = a2 @ vb.T  # |a| over the cells valid in both
    nb2 = va @ b2.T
    dab = fa.cells.reshape(len(va), -1) @ fb.cells.reshape(len(vb), -1).T
    common = va @ vb.T
    diff = np.sqrt(np.maximum(na2 + nb2 - 2 * dab, 0.0))
    den = np.sqrt(na2) + np.sqrt(nb2)
    sim = np.where(den > 1e-6, 1.0 - diff / np.maximum(den, 1e-6), 0.0)
    enough = common >= _MIN_COMMON * _CELLS.shape[0]
    return np.where(enough, sim, 0.0).astype(np.float32)


_CACHE: OrderedDict[bytes, Features] = OrderedDict()
_CACHE_MAX = 4096
# Several simulated modules may run in one process (one runner thread each).
_LOCK = threading.Lock()


def features(template: bytes) -> Features:
    """Decoded features of ``template`` (LRU-cached by its bytes).  ValueError if not one."""
    key = bytes(template)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    m = decode(key)
    pts = np.stack([m.x, m.y], axis=1).astype(np.float32)
    ang = m.angle.astype(np.float32)
    cells, valid = _cylinders(pts, ang)
    flat = np.einsum("ick,cb->ibk", cells, _POOL).reshape(len(pts), -1)
    desc = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-6)
    f = Features(pts, ang, m, cells, valid, desc.astype(np.float32),
                 np.argsort(-m.reliability, kind="stable"))
    with _LOCK:
        _CACHE[key] = f
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return f


@dataclass(frozen=True, slots=True)
class _Alignment:
    score: int
    rot: float
    shift: np.ndarray  # (2,)
    pairs: np.ndarray  # (k, 2) indices (a, b)


def _rot(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]], np.float32)


def _pairs(fa: Features, fb: Features, rot: float, shift: np.ndarray) -> np.ndarray:
    """One-to-one minutia pairs under the transform b -> a (greedy by distance)."""
    pb = fb.pts @ _rot(rot).T + shift
    d = np.hypot(fa.pts[:, None, 0] - pb[None, :, 0], fa.pts[:, None, 1] - pb[None, :, 1])
    da = np.abs(_wrap(fa.ang[:, None] - fb.ang[None, :] - rot))
    ia, ib = np.nonzero((d < _PAIR_DIST) & (da < _PAIR_ANGLE))
    order = np.argsort(d[ia, ib], kind="stable")
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for k in order:  # a few dozen candidates at most
        a, b = int(ia[k]), int(ib[k])
        if a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            out.append((a, b))
    return np.array(out, np.intp).reshape(-1, 2)


def _fit(fa: Features, fb: Features, pairs: np.ndarray) -> tuple[float, np.ndarray]:
    """Least-squares rigid transform (rotation, shift) mapping paired b points onto a."""
    a = fa.pts[pairs[:, 0]].astype(np.float64)
    b = fb.pts[pairs[:, 1]].astype(np.float64)
    ma, mb = a.mean(0), b.mean(0)
    h = (b - mb).T @ (a - ma)
    rot = float(np.arctan2(h[0, 1] - h[1, 0], h[0, 0] + h[1, 1]))
    shift = ma - _rot(rot).astype(np.float64) @ mb
    return rot, shift.astype(np.float32)


def _align(fa: Features, fb: Features) -> _Alignment | None:
    na, nb = len(fa.ang), len(fb.ang)
    if na < 3 or nb < 3:
        return None
    sim = _local_similarity(fa, fb)
    # Fingers go onto a sensor roughly upright: alignments turning more than _MAX_ROT are
    # not considered (as real modules do), which also removes many chance alignments.
    upright = np.abs(_wrap(fa.ang[:, None] - fb.ang[None, :])) <= _MAX_ROT
    cand = np.where(upright, sim, -1.0)
    k = min(_HYPOTHESES, sim.size)
    flat = np.argpartition(-cand.ravel(), k - 1)[:k]
    hi, hj = np.unravel_index(flat, sim.shape)
    rot = fa.ang[hi] - fb.ang[hj]  # (K,)
    c, s = np.cos(rot), np.sin(rot)
    bx = fb.pts[hj, 0]
    by = fb.pts[hj, 1]
    tx = fa.pts[hi, 0] - (c * bx - s * by)
    ty = fa.pts[hi, 1] - (s * bx + c * by)
    pbx = c[:, None] * fb.pts[None, :, 0] - s[:, None] * fb.pts[None, :, 1] + tx[:, None]
    pby = s[:, None] * fb.pts[None, :, 0] + c[:, None] * fb.pts[None, :, 1] + ty[:, None]
    d = np.hypot(fa.pts[None, :, 0, None] - pbx[:, None, :],
                 fa.pts[None, :, 1, None] - pby[:, None, :])
    da = np.abs(_wrap(fa.ang[None, :, None] - fb.ang[None, None, :] - rot[:, None, None]))
    ok = (d < _PAIR_DIST) & (da < _PAIR_ANGLE)
    counts = np.minimum(ok.any(2).sum(1), ok.any(1).sum(1))
    best = int(np.argmax(counts))
    r, t = float(rot[best]), np.array([tx[best], ty[best]], np.float32)
    pairs = _pairs(fa, fb, r, t)
    for _ in range(2):  # refine on all pairs, then re-pair
        if len(pairs) < 3:
            break
        r2, t2 = _fit(fa, fb, pairs)
        p2 = _pairs(fa, fb, r2, t2)
        if len(p2) < len(pairs):
            break
        r, t, pairs = r2, t2, p2
    local = sim
    pb = fb.pts @ _rot(r).T + t
    d = np.hypot(fa.pts[:, None, 0] - pb[None, :, 0], fa.pts[:, None, 1] - pb[None, :, 1])
    na_ov = int((d.min(1) < _OVERLAP).sum())
    nb_ov = int((d.min(0) < _OVERLAP).sum())
    n = len(pairs)
    if n == 0:
        return _Alignment(0, r, t, pairs)
    # Each pair counts by how alike the two minutiae's neighbourhoods are: chance pairs of
    # unrelated prints rarely share their surroundings.
    sim = local[pairs[:, 0], pairs[:, 1]]
    w = np.clip((sim - _SIM_FLOOR) / (1.0 - _SIM_FLOOR), 0.0, 1.0)
    # Ending vs bifurcation flips with skin moisture, but chance pairs disagree far more often.
    same = fa.minutiae.kind[pairs[:, 0]] == fb.minutiae.kind[pairs[:, 1]]
    w = w * np.where(same, 1.0, _TYPE_MISMATCH)
    neff = float(w.sum())
    s_ = neff * neff / (max(na_ov, _MIN_COUNT, n) * max(nb_ov, _MIN_COUNT, n))
    s_ *= min(1.0, neff / _N_SATURATE)
    return _Alignment(int(min(65535, round(_SCALE * s_))), r, t, pairs)


def match_score(a: bytes, b: bytes) -> int:
    """Similarity 0..65535 of two templates (0 if either is not a template)."""
    try:
        fa, fb = features(a), features(b)
    except ValueError:
        return 0
    al = _align(fa, fb)
    return 0 if al is None else al.score


_THRESHOLDS = {1: 30, 2: 38, 3: 45, 4: 55, 5: 68}


def threshold_for_level(level: int) -> int:
    """Minimum score for a match at security level 1..5 (3 is the modules' default)."""
    if level not in _THRESHOLDS:
        raise ValueError(f"security level must be 1..5, not {level!r}")
    return _THRESHOLDS[level]


def merge_templates(a: bytes, b: bytes) -> bytes:
    """One template (of the size of ``a``) from two captures of one finger, in a's frame."""
    try:
        fa, fb = features(a), features(b)
    except ValueError as exc:
        raise MergeError(f"cannot merge: {exc}") from exc
    al = _align(fa, fb)
    if al is None or al.score < threshold_for_level(1) or len(al.pairs) < 6:
        got = 0 if al is None else al.score
        raise MergeError(f"the two captures are not one finger (similarity {got})")
    ma, mb = fa.minutiae, fb.minutiae
    pb = fb.pts @ _rot(al.rot).T + al.shift
    angb = np.mod(fb.ang + al.rot, 2 * np.pi)
    ia, ib = al.pairs[:, 0], al.pairs[:, 1]
    x = ma.x.copy()
    y = ma.y.copy()
    ang = ma.angle.copy()
    rel = ma.reliability.copy()
    # Paired minutiae: average the two sightings; seen twice, so more reliable.
    x[ia] = (x[ia] + pb[ib, 0]) / 2
    y[ia] = (y[ia] + pb[ib, 1]) / 2
    ang[ia] = np.mod(ang[ia] + _wrap(angb[ib] - ang[ia]) / 2, 2 * np.pi)
    rel[ia] = np.minimum(63, np.maximum(rel[ia], mb.reliability[ib]) + 16)
    # Unpaired b minutiae extend the print where a did not reach.
    rest = np.setdiff1d(np.arange(len(mb)), ib)
    if len(rest):
        d = np.hypot(x[:, None] - pb[None, rest, 0], y[:, None] - pb[None, rest, 1]).min(0)
        rest = rest[d > _PAIR_DIST]
    m = Minutiae(
        np.concatenate([x, pb[rest, 0]]).astype(np.float32),
        np.concatenate([y, pb[rest, 1]]).astype(np.float32),
        np.concatenate([ang, angb[rest]]).astype(np.float32),
        np.concatenate([ma.kind, mb.kind[rest]]).astype(np.int8),
        np.concatenate([rel, mb.reliability[rest]]).astype(np.float32),
        merged=True,
    )
    size = len(a)
    cap = capacity(size)
    if len(m) > cap:
        keep = np.sort(np.argsort(-m.reliability, kind="stable")[:cap])
        m = Minutiae(m.x[keep], m.y[keep], m.angle[keep], m.kind[keep], m.reliability[keep], True)
    return encode(m, size)


# -- 1:N -------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Stack:
    key: tuple
    index: np.ndarray  # library slot of each stacked entry
    desc: np.ndarray  # (N, P, D), zero rows pad
    feats: list


_STACK: list[_Stack] = []


def _stack(library: Sequence[bytes | None]) -> _Stack:
    key = tuple(None if t is None else bytes(t) for t in library)
    with _LOCK:
        for st in _STACK:
            if st.key == key:
                return st
    idx, descs, feats = [], [], []
    for i, t in enumerate(key):
        if t is None:
            continue
        try:
            f = features(t)
        except ValueError:
            continue
        idx.append(i)
        feats.append(f)
        descs.append(f.desc[f.order[:_PREFILTER_POINTS]])
    dim = _POOL.shape[1] * _ND
    arr = np.zeros((len(descs), _PREFILTER_POINTS, dim), np.float32)
    for k, d in enumerate(descs):  # one copy per entry, cached across searches
        arr[k, : len(d)] = d
    st = _Stack(key, np.array(idx, np.intp), arr, feats)
    with _LOCK:
        _STACK.insert(0, st)
        del _STACK[4:]  # a few libraries (one per simulated module) stay warm
    return st


def best_match(probe: bytes, library: Sequence[bytes | None]) -> tuple[int, int]:
    """(slot, score) of the best-matching library entry; (-1, 0) if nothing to compare.

    Every entry is screened at once by local-descriptor similarity; the full matcher then
    scores the _SHORTLIST best-screened entries, and the best of those is returned (its score
    equals ``match_score(probe, library[slot])``).  None and undecodable entries are skipped.
    """
    try:
        fp = features(probe)
    except ValueError:
        return -1, 0
    st = _stack(library)
    n = len(st.index)
    if n == 0 or len(fp.ang) == 0:
        return -1, 0
    # Pre-filter: for each entry, the mean of the probe's best local-descriptor similarities.
    q = fp.desc[fp.order[:_PREFILTER_PROBE]]  # the probe's most reliable minutiae
    sims = q @ st.desc.reshape(-1, st.desc.shape[2]).T  # (nP, N*P)
    best = sims.reshape(len(q), n, -1).max(axis=2)  # (nP, N)
    k = min(8, best.shape[0])
    coarse = -np.partition(-best, k - 1, axis=0)[:k].mean(axis=0)  # (N,)
    short = np.argsort(-coarse, kind="stable")[:_SHORTLIST]
    top_slot, top_score = -1, -1
    for e in short:
        al = _align(fp, st.feats[e])
        sc = 0 if al is None else al.score
        if sc > top_score:
            top_slot, top_score = int(st.index[e]), sc
    return top_slot, max(top_score, 0)
