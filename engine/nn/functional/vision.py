"""Resampling and spatial rearrangement: interpolate/upsample, grid_sample, affine_grid, pixel
and channel shuffles."""
import math
import warnings

import numpy as np

from ... import creation
from ...ops import elementwise as _ew
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

# source positions follow PyTorch's CPU kernels (float32 arithmetic for nearest)
_LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _nearest_index(n_in, n_out, scale, exact):
    s = np.float32(1.0 / scale if scale is not None and scale > 0 else np.float32(n_in) / np.float32(n_out))
    dst = np.arange(n_out, dtype=np.float64 if exact else np.float32)
    if exact:
        src = np.floor((dst + 0.5) * np.float64(s))
    elif n_out == n_in or n_out == 2 * n_in:  # the kernel's exact shortcuts
        src = np.arange(n_out) * n_in // n_out
    else:
        src = np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_source(n_in, n_out, scale, align_corners, dtype):
    """Indices of the two neighbours and their weights, per output position."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = np.arange(n_out, dtype=dtype) * dtype(s)
    else:
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        src = np.maximum(dtype(s) * (np.arange(n_out, dtype=dtype) + dtype(0.5)) - dtype(0.5), 0)
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < n_in - 1)
    lam = np.clip(src - i0, 0, 1).astype(dtype)
    return i0, i1, 1 - lam, lam


def _cubic_source(n_in, n_out, scale, align_corners, dtype):
    """The four neighbours (clamped to the edge) and their weights per output position: Keys'
    cubic convolution with A = -0.75, PyTorch's bicubic kernel."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = np.arange(n_out, dtype=dtype) * dtype(s)
    else:  # unlike linear, the source coordinate is not clamped at 0
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        src = dtype(s) * (np.arange(n_out, dtype=dtype) + dtype(0.5)) - dtype(0.5)
    base = np.floor(src)
    t = (src - base).astype(dtype)
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    indices = [np.clip(base.astype(np.int64) + k, 0, n_in - 1) for k in (-1, 0, 1, 2)]
    return indices, [w.astype(dtype) for w in weights]


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                             "bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError("Input and output must have the same number of spatial dimensions, but got input "
                                 f"with spatial dimensions of {list(input.shape[2:])} and output size of {size}. "
                                 "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 "(o1, o2, ...,oK) format.")
            output_size = [int(s) for s in size]
        else:
            output_size = [int(size)] * dim
        scales = [None] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError("Input and scale_factor must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 "scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        output_size = [math.floor(float(n) * s) for n, s in zip(input.shape[2:], scales)]
        if recompute_scale_factor:
            scales = [None] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if antialias:
        raise NotImplementedError("antialias is not supported")
    if mode in _LINEAR_MODES and input.dim() != _LINEAR_MODES[mode]:
        if input.dim() in (3, 4, 5):
            raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {_LINEAR_MODES[mode]}D input")
    if mode == "area" and input.dim() in (3, 4, 5):  # the average over each output cell's source window
        pool = {3: adaptive_avg_pool1d, 4: adaptive_avg_pool2d, 5: adaptive_avg_pool3d}
        return pool[input.dim()](input, output_size)
    if mode == "bicubic" and input.dim() != 4:
        raise NotImplementedError(f"Got {input.dim()}D input, but bicubic mode needs 4D input")
    if mode not in ("nearest", "nearest-exact", "bicubic", *_LINEAR_MODES) or input.dim() not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    if any(o <= 0 for o in output_size):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({', '.join(str(s) for s in input.shape[2:])}) and output "
                           f"({', '.join(str(o) for o in output_size)})")
    out = input
    dtype = np.dtype(input.dtype.name) if input.dtype.is_floating_point else np.float32
    for d, (n_in, n_out, scale) in enumerate(zip(input.shape[2:], output_size, scales)):
        axis = d + 2
        if mode.startswith("nearest"):
            out = out.index_select(axis, _index(_nearest_index(n_in, n_out, scale, mode == "nearest-exact"), input))
            continue
        shape = (n_out,) + (1,) * (input.dim() - axis - 1)
        if mode == "bicubic":
            indices, weights = _cubic_source(n_in, n_out, scale, align_corners, dtype.type)
            taps = [out.index_select(axis, _index(i, input)) *
                    creation.tensor(w.reshape(shape), dtype=input.dtype, device=input.device)
                    for i, w in zip(indices, weights)]
            out = taps[0] + taps[1] + taps[2] + taps[3]
            continue
        i0, i1, w0, w1 = _linear_source(n_in, n_out, scale, align_corners, dtype.type)
        shape = (n_out,) + (1,) * (input.dim() - axis - 1)
        w0, w1 = (creation.tensor(w.reshape(shape), dtype=input.dtype, device=input.device) for w in (w0, w1))
        out = out.index_select(axis, _index(i0, input)) * w0 + out.index_select(axis, _index(i1, input)) * w1
    return out


def _index(array, like):
    return creation.tensor(array, device=like.device)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor):
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    b = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w).permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    *batch, c, h, w = input.shape
    for name, n, i in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({i})={n} is not divisible by {r}")
    b = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r).permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)
    return x.reshape(*batch, c * r * r, h // r, w // r)


# gather of the 2^d neighbouring input values (bilinear) or of the nearest one
def _unnormalize(coord, size, align_corners):
    return (coord + 1) / 2 * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    coord = (coord - low).abs()
    extra = coord.fmod(span)
    flips = (coord / span).floor().detach()
    odd = flips.fmod(2) != 0
    return _ew.where(odd, span - extra, extra) + low


def _source(coord, size, padding_mode, align_corners):
    coord = _unnormalize(coord, size, align_corners)
    if padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
    if padding_mode != "zeros":
        coord = coord.clamp(0, size - 1)
    return coord


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", stacklevel=2)
        align_corners = False
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not supported")
    nd = input.dim() - 2
    if input.dim() not in (4, 5) or grid.dim() != input.dim() or grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected {input.dim()}D input and grid with same number of dimensions "
                           f"and last dimension {nd}, but got input with sizes {list(input.shape)} and grid with "
                           f"sizes {list(grid.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    n, c = input.shape[:2]
    sizes = tuple(input.shape[2:])
    out_shape = tuple(grid.shape[1:-1])
    flat_in = input.reshape(n, c, -1)
    # the grid's last dim lists (x, y[, z]): the spatial dims in reverse
    coords = [_source(grid[..., nd - 1 - i].reshape(n, 1, -1), sizes[i], padding_mode, align_corners)
              for i in range(nd)]

    def corner(idx):
        """The input values at integer positions idx (per dim), zero outside the input."""
        inside, flat = None, 0
        for i, (p, size) in enumerate(zip(idx, sizes)):
            ok = (p >= 0) & (p <= size - 1)
            inside = ok if inside is None else inside & ok
            flat = flat * size + p.clamp(0, size - 1)
        values = flat_in.gather(2, flat.long().expand(n, c, flat.shape[-1]))
        return _ew.where(inside, values, 0.0)

    if mode == "nearest":
        # the grid still gets a (zero) gradient, as in PyTorch
        out = corner([x.round().detach() for x in coords]) + coords[0] * 0
    else:
        lows = [x.floor().detach() for x in coords]
        fracs = [x - lo for x, lo in zip(coords, lows)]
        out = 0
        for offsets in np.ndindex(*(2,) * nd):
            weight = 1
            for o, f in zip(offsets, fracs):
                weight = weight * (f if o else 1 - f)
            out = out + weight * corner([lo + o for lo, o in zip(lows, offsets)])
    return out.reshape(n, c, *out_shape)


def _base_coords(steps, align_corners):
    if steps <= 1:
        values = np.zeros(max(steps, 1))
    else:
        values = np.linspace(-1, 1, steps)
        if not align_corners:
            values = values * (steps - 1) / steps
    return values


def affine_grid(theta, size, align_corners=None):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                             f"{theta.shape}.")
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got "
                             f"{theta.shape}.")
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    size, spatial = [int(s) for s in size], [int(s) for s in size[2:]]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    # the base grid: (x, y[, z], 1) at every output position, x running along the last dim
    axes = [_base_coords(s, align_corners) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([m.ravel() for m in reversed(mesh)] + [np.ones(math.prod(spatial))], -1)
    base = creation.tensor(base, dtype=theta.dtype, device=theta.device)
    return base.matmul(theta.transpose(1, 2)).reshape(size[0], *spatial, len(spatial))


def channel_shuffle(input, groups):
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    return input.reshape(n, groups, c // groups, *input.shape[2:]).transpose(1, 2).reshape(input.shape)


native_channel_shuffle = channel_shuffle
