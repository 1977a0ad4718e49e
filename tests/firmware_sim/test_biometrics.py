"""Virtual fingers: rendering, extraction, template format, matcher (small and fast)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.biometrics import (
    FingerImageError,
    MergeError,
    best_match,
    extract_template,
    is_template,
    match_score,
    merge_templates,
    render_capture,
    threshold_for_level,
)
from firmware_sim.biometrics._extract import _orientation
from firmware_sim.biometrics._template import decode, encode

W, H = 256, 288
FINGERS = (0, 1, 2, 3)


def capture(fid: int, seed: int, quality: int = 92, *, w: int = W, h: int = H) -> np.ndarray:
    return render_capture(fid, quality, np.random.default_rng(seed), width=w, height=h)


def template(fid: int, seed: int, quality: int = 92) -> bytes:
    return extract_template(capture(fid, seed, quality), size=512)


@pytest.fixture(scope="module")
def enrolled() -> dict[int, bytes]:
    return {f: merge_templates(template(f, 10 + f), template(f, 20 + f)) for f in FINGERS}


@pytest.fixture(scope="module")
def probes() -> dict[int, bytes]:
    return {f: template(f, 30 + f, 88) for f in FINGERS}


# -- rendering --------------------------------------------------------------------------------
@pytest.mark.parametrize(("w", "h"), [(256, 288), (192, 192)])
def test_render_shape_dtype(w: int, h: int) -> None:
    img = capture(0, 1, w=w, h=h)
    assert img.shape == (h, w)
    assert img.dtype == np.uint8


def test_render_is_deterministic_per_rng_state() -> None:
    assert np.array_equal(capture(1, 5), capture(1, 5))
    assert not np.array_equal(capture(1, 5), capture(1, 6))
    assert not np.array_equal(capture(1, 5), capture(2, 5))


def test_render_shows_ridges_at_fingerprint_frequency() -> None:
    img = capture(2, 3, 100).astype(float)
    # Background where no skin touches is near white; the print has dark ridges.
    assert img.max() >= 240 and img.min() <= 80
    # The spectrum of the central region peaks at a ridge period of about 7..13 pixels,
    # which noise or smooth blobs would not do.
    patch = img[80:208, 64:192]
    spec = np.abs(np.fft.fftshift(np.fft.fft2(patch - patch.mean())))
    fy, fx = np.meshgrid(np.fft.fftshift(np.fft.fftfreq(128)), np.fft.fftshift(np.fft.fftfreq(128)),
                         indexing="ij")
    r = np.hypot(fy, fx)
    peak = r.ravel()[np.argmax(spec.ravel())]
    assert 1 / 13 < peak < 1 / 7
    band = spec[(r > 1 / 13) & (r < 1 / 7)].sum() / spec.sum()
    assert band > 0.4


def test_low_quality_degrades_capture() -> None:
    # Ridge-flow coherence of the central region falls as quality falls (noise, dryness, wetness).
    def clarity(img: np.ndarray) -> float:
        g = img.astype(np.float32)
        _, coh = _orientation(g)
        return float(coh[60:228, 48:208].mean())
    sharp = np.mean([clarity(capture(0, s, 100)) for s in range(3)])
    poor = np.mean([clarity(capture(0, s, 15)) for s in range(3)])
    assert sharp > 0.8
    assert poor < sharp - 0.15


# -- extraction -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [512, 768, 1536])
def test_template_has_exact_size_and_round_trips(size: int) -> None:
    tpl = extract_template(capture(0, 7), size=size)
    assert len(tpl) == size
    assert is_template(tpl)
    m = decode(tpl)
    assert 10 <= len(m) <= (size - 16) // 6
    assert encode(m, size) == tpl


def test_template_size_below_minimum_is_refused() -> None:
    with pytest.raises(ValueError):
        extract_template(capture(0, 7), size=256)


def test_extraction_is_deterministic() -> None:
    img = capture(3, 8)
    assert extract_template(img, size=512) == extract_template(img.copy(), size=512)


def test_four_bit_image_still_extracts_and_matches(enrolled: dict[int, bytes]) -> None:
    img = capture(1, 40, 90) & 0xF0  # what a UART upload/download carries
    tpl = extract_template(img, size=512)
    assert match_score(enrolled[1], tpl) >= threshold_for_level(3)


@pytest.mark.parametrize("value", [0, 255, 128])
def test_blank_image_is_too_few_points(value: int) -> None:
    with pytest.raises(FingerImageError) as exc:
        extract_template(np.full((H, W), value, np.uint8), size=512)
    assert exc.value.code == 0x07


def test_noise_image_is_too_messy() -> None:
    img = np.random.default_rng(0).integers(0, 256, (H, W)).astype(np.uint8)
    with pytest.raises(FingerImageError) as exc:
        extract_template(img, size=512)
    assert exc.value.code == 0x06


def test_tiny_contact_is_too_few_points() -> None:
    img = np.full((H, W), 250, np.uint8)
    img[120:160, 100:140] = capture(0, 9)[120:160, 100:140]
    with pytest.raises(FingerImageError) as exc:
        extract_template(img, size=512)
    assert exc.value.code == 0x07


def test_quality_zero_captures_fail() -> None:
    for seed in range(3):
        with pytest.raises(FingerImageError) as exc:
            extract_template(capture(1, 100 + seed, 0), size=512)
        assert exc.value.code in (0x06, 0x07)


# -- matching ---------------------------------------------------------------------------------
def test_genuine_pairs_match_and_impostors_do_not(enrolled: dict[int, bytes],
                                                  probes: dict[int, bytes]) -> None:
    thr = threshold_for_level(3)
    for f in FINGERS:
        for g in FINGERS:
            s = match_score(enrolled[f], probes[g])
            assert 0 <= s <= 65535
            if f == g:
                assert s >= thr, (f, s)
            else:
                assert s < thr, (f, g, s)


def test_small_sensor_genuine_match() -> None:
    a = extract_template(capture(2, 50, w=192, h=192), size=512)
    b = extract_template(capture(2, 51, w=192, h=192), size=512)
    c = extract_template(capture(0, 52, w=192, h=192), size=512)
    assert match_score(a, b) > match_score(a, c)


def test_match_is_symmetric_enough_and_self_match_is_high(probes: dict[int, bytes]) -> None:
    t = probes[0]
    assert match_score(t, t) >= threshold_for_level(5)
    assert match_score(b"\0" * 512, t) == 0


def test_merge_keeps_size_and_matches_both(enrolled: dict[int, bytes]) -> None:
    a, b = template(2, 60), template(2, 61)
    m = merge_templates(a, b)
    assert len(m) == len(a) and is_template(m)
    assert decode(m).merged
    assert len(decode(m)) >= max(len(decode(a)), len(decode(b)))
    assert match_score(m, a) >= threshold_for_level(3)
    assert match_score(m, b) >= threshold_for_level(3)


def test_merge_of_different_fingers_fails(probes: dict[int, bytes]) -> None:
    with pytest.raises(MergeError) as exc:
        merge_templates(probes[0], probes[1])
    assert exc.value.code == 0x0A
    with pytest.raises(MergeError):
        merge_templates(probes[0], b"garbage" * 100)


def test_best_match_finds_the_right_slot(enrolled: dict[int, bytes], probes: dict[int, bytes]) -> None:
    library: list[bytes | None] = [None] * 20
    for f in FINGERS:
        library[3 + 4 * f] = enrolled[f]
    for f in FINGERS:
        slot, score = best_match(probes[f], library)
        assert slot == 3 + 4 * f
        assert score == match_score(probes[f], enrolled[f])
    assert best_match(probes[0], []) == (-1, 0)
    assert best_match(probes[0], [None, None]) == (-1, 0)


def test_threshold_rises_with_level() -> None:
    levels = [threshold_for_level(n) for n in range(1, 6)]
    assert levels == sorted(levels) and len(set(levels)) == 5
    for bad in (0, 6):
        with pytest.raises(ValueError):
            threshold_for_level(bad)


# -- template format --------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=1600))
def test_is_template_rejects_garbage(data: bytes) -> None:
    assert not is_template(data)


@pytest.fixture(scope="module")
def valid_template() -> bytes:
    return template(0, 70)


@settings(max_examples=100, deadline=None)
@given(pos=st.integers(0, 511), bit=st.integers(0, 7))
def test_is_template_rejects_any_bit_flip(valid_template: bytes, pos: int, bit: int) -> None:
    data = bytearray(valid_template)
    data[pos] ^= 1 << bit
    assert not is_template(bytes(data))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 300), w=st.integers(1, 300), seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["noise", "blobs", "flat", "stripes"]))
def test_extract_never_crashes_on_odd_images(h: int, w: int, seed: int, kind: str) -> None:
    """Any 2-D uint8 picture (as DownImage may deliver) gives a template or a typed error."""
    rng = np.random.default_rng(seed)
    if kind == "noise":
        img = rng.integers(0, 256, (h, w))
    elif kind == "blobs":
        img = np.kron(rng.integers(0, 256, (h // 8 + 1, w // 8 + 1)), np.ones((8, 8)))[:h, :w]
    elif kind == "flat":
        img = np.full((h, w), int(rng.integers(0, 256)))
    else:
        img = 128 + 100 * np.sin(np.arange(w)[None, :] * 0.66 + np.zeros((h, 1)))
    try:
        tpl = extract_template(img.astype(np.uint8), size=512)
    except FingerImageError as exc:
        assert exc.code in (0x06, 0x07)
    else:
        assert len(tpl) == 512 and is_template(tpl)
