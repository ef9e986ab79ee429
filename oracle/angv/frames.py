"""Reading delivered frames (PNG, JPEG, OpenEXR) with size limits.

Every failure (unknown format, truncated or malformed data, too many pixels or bytes, a size other than the ordered
one, a container other than the ordered one) raises :class:`FrameError`; decoders' own exceptions never escape.
Frames are decoded by content (magic bytes), never by name: a file named ``.png`` that holds JPEG data is JPEG, and
is refused when the order asks for PNG (``codec``). PNG and JPEG stay ``uint8`` (converting a
whole 1080p frame to float would cost more than verifying it); an EXR's scene-linear values are mapped to display
levels with the sRGB transfer function (the "Standard" view transform) and returned as float32 in [0, 255].
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_BYTES = 256 * 1024 * 1024
MAX_PIXELS = 8192 * 8192

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
EXR_MAGIC = b"\x76\x2f\x31\x01"


class FrameError(ValueError):
    """A delivered frame cannot be used: unreadable, malformed, too large, or not the ordered size."""


@dataclass(frozen=True)
class Frame:
    pixels: np.ndarray  # (H, W, 3), uint8 for PNG/JPEG, float32 display levels for EXR
    codec: str  # "png" | "jpeg" | "exr"
    #: a JPEG's quantisation tables and chroma subsampling (Pillow's ``qtables`` / ``subsampling`` save options), so
    #: that the verifier can measure what this encoder does to the reference tiles: ``qtables`` lists the table each
    #: component really uses (Y, Cb, Cr, by the SOF's component-to-table mapping), not the DQT's slots; None for other
    #: codecs.
    jpeg_options: dict | None = field(default=None, compare=False)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def linear_to_display(lin: np.ndarray) -> np.ndarray:
    """Scene-linear -> sRGB display levels in [0, 255] (float32)."""
    x = np.clip(np.nan_to_num(lin.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    out = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return (out * 255.0).astype(np.float32)


def display_to_linear(disp: np.ndarray) -> np.ndarray:
    """sRGB display levels in [0, 255] -> scene-linear."""
    x = np.clip(np.asarray(disp, dtype=np.float64) / 255.0, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


CODECS = ("png", "jpeg", "exr")


def sniff(data: bytes) -> str | None:
    """The container by content: "png", "jpeg", "exr", or None."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(EXR_MAGIC):
        return "exr"
    return None


def load_frame(
    source: str | os.PathLike | bytes,
    expected_size: tuple[int, int] | None = None,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    codec: str | None = None,
) -> Frame:
    """Decode a frame; ``expected_size`` is (width, height) of the order, ``codec`` ("png", "jpeg", "exr") the
    ordered container: a file whose content is another container is refused, whatever its name."""
    if codec is not None and codec not in CODECS:
        raise ValueError(f"angv: unknown codec {codec!r}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise FrameError(f"frame: {len(data)} bytes exceeds the {max_bytes}-byte limit")
    else:
        try:
            size = os.path.getsize(source)
            if size > max_bytes:
                raise FrameError(f"frame: {size} bytes exceeds the {max_bytes}-byte limit")
            data = Path(source).read_bytes()
        except OSError as e:
            raise FrameError(f"frame: cannot read {source}: {e}") from e
    found = sniff(data)
    if found is None:
        raise FrameError("frame: not a PNG, JPEG or OpenEXR image")
    if codec is not None and found != codec:
        raise FrameError(f"frame: the file holds {found.upper()} data; the order asks for {codec.upper()}")
    if found == "exr":
        frame = _load_exr(data, max_pixels, expected_size)
    else:
        frame = _load_pillow(data, max_pixels, expected_size, found)
    _check_size(frame.width, frame.height, max_pixels, expected_size)
    return frame


def _check_size(w: int, h: int, max_pixels: int, expected: tuple[int, int] | None) -> None:
    if w <= 0 or h <= 0 or w * h > max_pixels:
        raise FrameError(f"frame: {w}x{h} pixels exceeds the {max_pixels}-pixel limit or is empty")
    if expected is not None and (w, h) != tuple(expected):
        raise FrameError(f"frame: size {w}x{h} differs from the ordered {expected[0]}x{expected[1]}")


def _load_pillow(data: bytes, max_pixels: int, expected: tuple[int, int] | None, codec: str) -> Frame:
    from PIL import Image

    try:
        formats = ["PNG"] if codec == "png" else ["JPEG", "MPO"]
        with Image.open(io.BytesIO(data), formats=formats) as im:
            _check_size(im.width, im.height, max_pixels, expected)  # header only: before any pixel is decoded
            if getattr(im, "n_frames", 1) != 1:
                raise FrameError(f"frame: {codec.upper()} with {im.n_frames} images (an animation); one is ordered")
            im.load()
            jpeg_options = _jpeg_options(im) if codec == "jpeg" else None
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.float32)
                arr = np.repeat((arr / 257.0)[..., None], 3, axis=2)
            elif im.mode == "RGB":
                arr = np.asarray(im)
            else:
                arr = np.asarray(im.convert("RGB"))
    except FrameError:
        raise
    except Exception as e:  # noqa: BLE001 - every decoder failure becomes one clear error
        raise FrameError(f"frame: malformed or truncated image ({type(e).__name__}: {e})") from e
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise FrameError("frame: unexpected channel layout")
    return Frame(arr, codec, jpeg_options)


def _jpeg_options(im) -> dict:
    """The tables each component of the image data really uses, in component order (the SOF's Tq per component
    looked up among the DQT tables by id), and the chroma subsampling; Pillow's encoder gives component i table i,
    so re-encoding with these options reproduces the file's quantisation. Tables the data does not use (a crafted
    file may put coarse ones in the first slots) play no part. A JPEG coded in RGB (Adobe transform 0, or
    components named R, G, B) is refused: its tables are not luma and chroma tables, so its error on the
    reference tiles cannot be measured this way."""
    from PIL import JpegImagePlugin

    tables = getattr(im, "quantization", None) or {}
    layers = getattr(im, "layer", None) or []
    ids = tuple(c[0] for c in layers)
    if im.mode not in ("RGB", "L") or im.info.get("adobe_transform") == 0 or ids == (82, 71, 66) \
            or len(layers) not in (1, 3):
        raise FrameError("frame: JPEG not coded as YCbCr or greyscale (the verifier measures luma/chroma tables)")
    try:
        qtables = [list(tables[c[3]]) for c in layers]
    except KeyError as e:
        raise FrameError(f"frame: JPEG component uses quantisation table {e} that the file does not define") from None
    return {"qtables": qtables, "subsampling": max(JpegImagePlugin.get_sampling(im), 0) if len(layers) == 3 else 0}


def _load_exr(data: bytes, max_pixels: int, expected: tuple[int, int] | None) -> Frame:
    import OpenEXR

    path = None
    try:
        with tempfile.NamedTemporaryFile(suffix=".exr", delete=False) as tmp:
            tmp.write(data)
            path = tmp.name
        head = OpenEXR.File(path, header_only=True).header()
        lo, hi = head["dataWindow"]
        w, h = int(hi[0] - lo[0] + 1), int(hi[1] - lo[1] + 1)
        _check_size(w, h, max_pixels, expected)
        chans = OpenEXR.File(path).channels()
        if "RGB" in chans:
            lin = chans["RGB"].pixels
        elif "RGBA" in chans:
            lin = chans["RGBA"].pixels[..., :3]
        elif all(c in chans for c in "RGB"):
            lin = np.stack([chans[c].pixels for c in "RGB"], axis=2)
        else:
            raise FrameError(f"frame: EXR without RGB channels ({sorted(chans)})")
    except FrameError:
        raise
    except Exception as e:  # noqa: BLE001
        raise FrameError(f"frame: malformed or truncated EXR ({type(e).__name__}: {e})") from e
    finally:
        if path:
            os.unlink(path)
    if lin.shape[:2] != (h, w):
        raise FrameError("frame: EXR pixel data does not match its data window")
    return Frame(linear_to_display(lin), "exr")
