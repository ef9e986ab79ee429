"""Issue 14, part 2: the quality check against crafted files, the wrong container, lossy frames and a misleading
score; synthetic frames, no Blender (the partial-render attack on real renders is in tests/integration/angv)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from inferix.eip712 import MAX_SCORE
from inferix.protocol import frame_name
from oracle.angv.adaptive import plan_regions
from oracle.angv.frames import FrameError, load_frame
from oracle.angv.keys import derive_key
from oracle.angv.manifest import FrameManifest, Manifest, RenderOrder, Tile
from oracle.angv.params import AngvParams
from oracle.angv.task import verify_result
from oracle.angv.verify import verify_frame

W, H = 320, 180
SIGMA = 3.0  # one honest render's sampling noise (levels)


def _truth() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    lum = 50 + 150 * (x / W) + 10 * np.sin(y / 17.0)
    return np.repeat(lum[..., None], 3, axis=2)


@pytest.fixture(scope="module")
def task():
    """A frame with its imprints, secret tiles with two reference draws, and a way to draw renders of it."""
    p = AngvParams()
    truth = _truth()
    plans = plan_regions(np.clip(truth, 0, 255), derive_key(bytes(32), bytes(32), 1, 1, p.n, W, H), p)
    texture = np.zeros((H, W), bool)
    texture[:, ::3] = True  # texture, so that a JPEG has something to lose, outside the imprints' envelopes
    for pl in plans:
        x0, y0, x1, y1 = pl.region.envelope()
        texture[y0 - 2 : y1 + 2, x0 - 2 : x1 + 2] = False
    truth[texture] += 20
    for pl in plans:
        r = pl.region
        truth[r.y0 : r.y0 + r.h, r.x0 : r.x0 + r.w] = pl.target_rgb
    rng = np.random.default_rng(11)

    def draw(sigma: float) -> np.ndarray:
        return np.clip(np.rint(truth + rng.normal(0, sigma, truth.shape[:2])[..., None]), 0, 255).astype(np.uint8)

    a, b = draw(SIGMA), draw(SIGMA)
    size = 32
    pos = [(int(x), int(y)) for x, y in zip(rng.integers(0, W - size, 8), rng.integers(0, H - size, 8))]
    tiles = [Tile(x, y, size, a[y : y + size, x : x + size].copy(), b[y : y + size, x : x + size].copy())
             for x, y in pos]
    fm = FrameManifest(1, [pl.region for pl in plans], tiles)
    manifest = Manifest(p.version, p, 7, "00" * 32, "11" * 32, RenderOrder(W, H, 64, True, 3), ["Plane.001"], {1: fm})
    return p, fm, manifest, draw


def _jpeg(img: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", **kw)
    return buf.getvalue()


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def _segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of a JPEG's header segments up to and including SOS, then (-1, the rest)."""
    out, i = [], 2
    while True:
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker == 0xDA:
            out.append((-1, data[i:]))
            return out
        out.append((marker, data[i + 4 : i + 2 + length]))
        i += 2 + length


def _join(segments: list[tuple[int, bytes]]) -> bytes:
    return b"\xff\xd8" + b"".join(body if m == -1 else bytes([0xFF, m]) + struct.pack(">H", len(body) + 2) + body
                                  for m, body in segments)


def crafted_jpeg(img: np.ndarray, fine: list[int], coarse: list[int]) -> bytes:
    """The issue's crafted file: image data quantised with ``fine`` tables (ids 2 and 3 in the SOF), coarse tables
    that no component uses stored first, in slots 0 and 1."""
    segs = _segments(_jpeg(img, qtables=[fine, fine], subsampling=0))
    out = []
    for m, body in segs:
        if m == 0xDB:  # DQT: one or more (Pq|Tq, 64 bytes) tables; move ids 0, 1 to 2, 3
            b = bytearray(body)
            j = 0
            while j < len(b):
                b[j] = (b[j] & 0xF0) | ((b[j] & 0x0F) + 2)
                j += 1 + 64 * (1 + (b[j] >> 4))
            body = bytes(b)
        elif m in (0xC0, 0xC1, 0xC2):  # SOF: each component's Tq + 2
            b = bytearray(body)
            for c in range(b[5]):
                b[6 + 3 * c + 2] += 2
            body = bytes(b)
        out.append((m, body))
    dqt_coarse = bytes([0x00]) + bytes(coarse) + bytes([0x01]) + bytes(coarse)
    first_dqt = next(i for i, (m, _) in enumerate(out) if m == 0xDB)
    out.insert(first_dqt, (0xDB, dqt_coarse))
    return _join(out)


FINE = [2] * 64
COARSE = [255] * 64


def test_crafted_jpeg_allowance_comes_from_the_tables_really_used(task):
    """A cheap render (the noise of 1/8 of the samples) saved with fine tables, coarse unused tables first."""
    p, fm, _, draw = task
    cheap = draw(SIGMA * np.sqrt(8))
    data = crafted_jpeg(cheap, FINE, COARSE)
    frame = load_frame(data, (W, H))
    plain = load_frame(_jpeg(cheap, qtables=[FINE, FINE], subsampling=0), (W, H))
    assert np.array_equal(frame.pixels, plain.pixels)  # the coarse tables are never used by the image data
    assert frame.jpeg_options["qtables"] == [FINE, FINE, FINE]  # luma, Cb, Cr: the tables each component uses
    r = verify_frame(frame, fm, p, lossy=True)
    assert not r.quality_accepted and r.quality > 3 * p.quality_max, r.reason  # judged by the fine tables
    assert r.quality == pytest.approx(verify_frame(plain, fm, p, lossy=True).quality)


def test_jpeg_coded_in_rgb_is_refused(task):
    """Tables of an RGB-coded JPEG are not luma and chroma tables: the allowance cannot be measured, so it is
    refused rather than guessed."""
    _, _, _, draw = task
    with pytest.raises(FrameError, match="YCbCr"):
        load_frame(_jpeg(draw(SIGMA), keep_rgb=True), (W, H))


@pytest.mark.parametrize("ordered,delivered", [("png", "jpeg"), ("jpeg", "png"), ("png", "exr")])
def test_container_must_match_the_order(task, tmp_path, ordered, delivered):
    _, _, _, draw = task
    img = draw(SIGMA)
    if delivered == "exr":
        import OpenEXR

        path = tmp_path / "f.exr"
        lin = (img / 255.0).astype(np.float32)
        OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                     {"RGB": lin}).write(str(path))
        data = path.read_bytes()
    else:
        data = _jpeg(img, quality=95) if delivered == "jpeg" else _png(img)
    with pytest.raises(FrameError, match=f"{delivered.upper()} data.*order asks for {ordered.upper()}"):
        load_frame(data, (W, H), codec=ordered)
    assert load_frame(data, (W, H)).codec == delivered  # without an order, decoded by content


class _Store:
    """The two calls of an IPFS store that verify_result makes."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def ls(self, cid: str) -> list[dict]:
        return [{"name": n, "cid": n} for n in self.files]

    def cat(self, cid: str, max_bytes: int = 0) -> bytes:
        return self.files[cid]


def test_oracle_refuses_jpeg_bytes_under_a_png_name(task):
    _, _, manifest, draw = task
    honest = draw(SIGMA)
    assert verify_result(_Store({frame_name(1): _png(honest)}), "cid", manifest).passed
    v = verify_result(_Store({frame_name(1): _jpeg(honest, quality=98)}), "cid", manifest)
    assert not v.passed and "JPEG data" in v.reason and v.score == 0


def test_network_verifies_lossless_frames_only(task):
    """The decision (docs/angv.md): the network judges PNG/EXR frames; a JPEG, of any quality, is refused with a
    clear reason, and compressing a cheap render and delivering the decoded pixels as PNG does not help."""
    p, fm, _, draw = task
    honest = draw(SIGMA)
    assert verify_frame(load_frame(_png(honest), (W, H)), fm, p).accepted
    for q in (95, 30, 20):
        r = verify_frame(load_frame(_jpeg(honest, quality=q), (W, H)), fm, p)
        assert not r.accepted and "lossless" in r.reason
    cheap = draw(SIGMA * np.sqrt(8))
    for q in (30, 20):
        decoded = load_frame(_jpeg(cheap, quality=q), (W, H)).pixels
        r = verify_frame(load_frame(_png(decoded), (W, H)), fm, p)
        assert not r.accepted and not r.quality_accepted


def test_score_reflects_the_whole_decision(task):
    """A frame whose imprints are all there but whose quality fails must not score as a pass, nor its task."""
    p, fm, manifest, draw = task
    cheap = draw(SIGMA * 2)  # a quarter of the samples
    r = verify_frame(cheap, fm, p)
    assert r.noise_accepted and r.passed == r.n and not r.quality_accepted
    assert r.noise_score == 1.0 and r.score < 1.0
    v = verify_result(_Store({frame_name(1): _png(cheap)}), "cid", manifest)
    assert not v.passed and v.score < MAX_SCORE
    assert v.score <= int(MAX_SCORE * p.quality_max / r.quality) + 1  # scaled down by how far quality misses
    honest = verify_result(_Store({frame_name(1): _png(draw(SIGMA))}), "cid", manifest)
    assert honest.passed and honest.score == MAX_SCORE
