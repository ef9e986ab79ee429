"""Every ANGV parameter, with its default and the reason for it.

One frozen dataclass, :class:`AngvParams`, travels inside every manifest, so a verifier always checks a frame with
the parameters it was prepared with. Changing a default changes :attr:`AngvParams.version` consumers' results, so the
key-derivation domain string carries a version too (``KEY_DOMAIN``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

#: Domain-separation string of the key derivation; bump it when the derivation or its inputs change.
KEY_DOMAIN = b"inferix-angv-v1"
#: Version of the manifest format and of the selection algorithm.
ANGV_VERSION = 4

N_MIN, N_MAX = 2, 40
IMPRINT_MIN, IMPRINT_MAX = 4, 7


@dataclass(frozen=True)
class AngvParams:
    """Parameters of noise generation, insertion and verification (defaults in brackets)."""

    # --- noise vector ----------------------------------------------------------------------------------------------
    #: number of atomic noises / carriers per frame [12]; supported 2..40 (whitepaper: 8..15).
    n: int = 12
    #: texture size M x N of an atomic noise, in texels [512 x 512] (whitepaper figure 4).
    texture_m: int = 512
    texture_n: int = 512
    #: mean and standard deviation of the periods X_i, Y_i ~ N(mu, sigma^2), in texels [25, 5] (whitepaper fig. 4).
    period_mu: float = 25.0
    period_sigma: float = 5.0
    #: periods are clipped to [period_min, period_max] texels so that no texture is constant or aliased [8, 64].
    period_min: float = 8.0
    period_max: float = 64.0
    #: relative amplitude A of the periodic texture on the carrier's emission [0.15]. On screen the period is
    #: sub-pixel, so the texture averages out and the imprint is the carrier's mean brightness step.
    amplitude: float = 0.15

    # --- imprint geometry ------------------------------------------------------------------------------------------
    #: side of an imprint k_i in pixels is drawn uniformly in [imprint_min, imprint_max] [4, 5]; supported 4..7
    #: (the whitepaper finds 7-8 px visible and 4-5 px imperceptible).
    imprint_min: int = 4
    imprint_max: int = 5
    #: extra pixels kept free between two enveloping regions (3k x 3k windows) [2].
    region_gap: int = 2
    #: carrier depth is drawn in [depth_lo, depth_hi] x (distance to the nearest scene surface behind it) [0.25, 0.9].
    depth_lo: float = 0.25
    depth_hi: float = 0.9
    #: candidate positions tried per frame before giving up [4000].
    max_tries: int = 4000

    # --- adaptive spreading (from the low-settings reference render) --------------------------------------------------
    #: samples of the reference (preview) render [16]; it is denoised so that smoothness reflects the scene, not
    #: Monte Carlo noise.
    preview_samples: int = 16
    #: the preview's pixel budget [230,400 = 640 x 360]: a larger frame's preview is rendered at the scale that fits
    #: this budget (the frame's aspect kept) and brought back to the frame's size (bilinear) for planning. It only has
    #: to find smooth areas and their level; at 1920 x 1080 it costs 1/9 of a full-size one (version 3: full size,
    #: 15 % of an honest 128-sample render). Frames within the budget are previewed at full size, as before.
    preview_pixels: int = 640 * 360
    #: a candidate enveloping region is "smooth" when the luminance standard deviation over it is at most this [3.0
    #: levels of 255] and its luminance range at most ``smooth_range_max`` [12 levels].
    smooth_std_max: float = 3.0
    smooth_range_max: float = 12.0
    #: designed brightness step of an imprint, in 8-bit display levels [20] (brighter on dark, darker on bright).
    step: float = 20.0
    #: a region is brighter when its background luminance is below this, darker otherwise [128].
    polarity_split: float = 128.0
    #: every channel must stay at least this far from 0/255 after the step ("unclipped") [4 levels].
    clip_margin: float = 4.0

    # --- verification: whitepaper rule --------------------------------------------------------------------------------
    #: e_i = |mean(lap v_i) - mean(lap k_i)| must reach this for every region [5.0].
    whitepaper_threshold: float = 5.0

    # --- verification: calibrated rule --------------------------------------------------------------------------------
    #: a region passes when its normalised signed step z = polarity*(core - ring)/step_eff is in [z_min, z_max]
    #: [0.5, 1.8], the ring around it is plausible (std <= ring_std_max [24]: honest renders show 1-8 at 16-32
    #: samples, 13-17 at 2-4 samples, a random image ~70) and the ring's mean luminance is within
    #: bg_tolerance [24 levels] of the reference render's.
    z_min: float = 0.5
    z_max: float = 1.8
    ring_std_max: float = 24.0
    bg_tolerance: float = 24.0
    #: design bound on the probability that a region of a frame that does not carry the right noise passes [0.10];
    #: measured null pass rates are far below it (docs/angv.md).
    null_pass_bound: float = 0.10
    #: the frame is accepted when at least k regions pass, k the smallest value whose binomial tail
    #: P[Bin(n, null_pass_bound) >= k] <= false_accept_target [1e-6].
    false_accept_target: float = 1e-6

    # --- quality conformity: spot tiles re-rendered at the ordered settings -------------------------------------------
    #: number of secret tiles per frame [16] and their side in pixels [0: 32 at every size; version 2 had 8 tiles of
    #: 48 px above 640 px wide]; drawn uniformly over the frame by key (adaptive.plan_tiles), so that a partial
    #: render is caught. 16 x 32^2 px cost the verifier what 8 x 48^2 did (the 1 ms budget at 1080p).
    tiles: int = 16
    tile_size: int = 0
    #: positions drawn per tile while it overlaps a tile already chosen (then the last draw is kept) [64]. (Version 2:
    #: 8 candidates, the most textured kept.)
    tile_candidates: int = 64
    #: share of a task's frames that carry quality tiles [0.25], and the fewest frames that do [2]: a task of m frames
    #: has max(min(m, tile_frames_min), ceil(tile_share x m)) tiled frames, drawn by the task key (no worker knows
    #: which until the seed is revealed). A worker that cheats on j frames saves j/m of the task's render cost and is
    #: caught on each of them with probability k/m x (the check's power): the expected penalty per cheated frame
    #: grows with k as the saving does, whatever m (docs/angv.md, "Does cheating pay?"). Version 3 tiled every frame.
    tile_share: float = 0.25
    tile_frames_min: int = 2
    #: pixels rendered around a tile and discarded, so that the denoiser sees the same neighbourhood [8].
    tile_margin: int = 8
    #: pooled quality score Q = trimmed mean over all tile pixels of (delivered - mean of the two references)^2,
    #: divided by what an honest render gives: (3/2) x trimmed mean of (ref_a - ref_b)^2 / 2, plus the codec's
    #: allowance and quality_floor. Honest renders give Q ~ 0.9 (measured maximum 1.35), 1/8 of the samples 1.1-5.5
    #: (median 3.2) with the denoiser on and ~6 without. The frame passes when Q <= quality_max [1.5].
    quality_max: float = 1.5
    #: the same score pooled over the worst half of the tiles (those with the largest per-tile score) must be at most
    #: quality_half_max [2.5]: a render that is full quality on part of the frame and cheap elsewhere keeps the whole
    #: pool low when enough tiles fall on the honest part; the worst half is the cheap part. At 1.8, 3 of 36 honest
    #: denoised frames were rejected on it (real tile references, docs/angv.md); 2.5 is above every honest one.
    quality_half_max: float = 2.5
    #: fraction of the largest squared differences left out of both trimmed means [0.05]: Cycles' fireflies
    #: (kurtosis 300-2,300 measured) make plain means useless on a few tiles.
    quality_trim: float = 0.05
    #: floor added to the denominator, in squared levels [0.1]: flat tiles where both references agree to the level.
    quality_floor: float = 0.1
    #: pooled high-frequency energy (mean squared Laplacian over the tiles, plus a floor of 20 x allowance^2) must be
    #: at least hf_ratio_min x the smaller reference's [0.5]: a 1/4-resolution upscale divides it by 3 to 10. There
    #: is no upper bound: fireflies add energy to honest renders, and fewer samples, which add it too, raise Q.
    hf_ratio_min: float = 0.5
    #: noise allowance of the codec for the high-frequency floor, in levels [0.75 for PNG/EXR, 2.5 for JPEG]. The
    #: JPEG's own error in the quality score is measured by re-encoding the reference tiles with the delivered
    #: file's quantisation tables.
    allowance_lossless: float = 0.75
    allowance_jpeg: float = 2.5

    # --- versioning ---------------------------------------------------------------------------------------------------
    version: int = ANGV_VERSION

    def __post_init__(self) -> None:
        if not N_MIN <= self.n <= N_MAX:
            raise ValueError(f"angv: n={self.n} outside {N_MIN}..{N_MAX}")
        if not IMPRINT_MIN <= self.imprint_min <= self.imprint_max <= IMPRINT_MAX:
            raise ValueError(f"angv: imprint sides must satisfy {IMPRINT_MIN} <= min <= max <= {IMPRINT_MAX}")
        if not 0 < self.period_min <= self.period_mu <= self.period_max:
            raise ValueError("angv: need 0 < period_min <= period_mu <= period_max")
        if not 0 < self.depth_lo < self.depth_hi < 1:
            raise ValueError("angv: need 0 < depth_lo < depth_hi < 1")
        if self.step <= 0 or self.tiles < 0:
            raise ValueError("angv: step must be > 0 and tiles >= 0")
        if self.preview_pixels < 1 or not 0 < self.tile_share <= 1 or self.tile_frames_min < 1:
            raise ValueError("angv: need preview_pixels >= 1, 0 < tile_share <= 1 and tile_frames_min >= 1")

    def tile_side(self, width: int) -> int:
        return self.tile_size or 32

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AngvParams":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"angv: unknown parameters {sorted(unknown)}")
        return cls(**d)
