"""CaloGAN `samplingEM` showers: geometry constants, the `Showers` container and its HDF5 I/O.

File layout (one dataset per key): `layer_0` (N,3,96), `layer_1` (N,12,12), `layer_2` (N,12,6),
`overflow` (N,3), voxel energies in MeV; `energy` (N,1), the primary's kinetic energy in GeV.
In memory `Showers.energy` is 1-d (N,).

Cell grid, checked against the public CaloGAN Geant4 code (hep-lbdl/CaloGAN,
generation/src/SteppingAction.cc and convert_to_cells_v2.py): a 480 x 480 mm window centred on
the beam axis, binned per layer as (nx, ny) = (3, 96), (12, 12), (12, 6), i.e. cells of
dx x dy = 160 x 5, 40 x 40 and 40 x 80 mm. Voxel index = x_bin * ny + y_bin (the array's first
axis is x). The absorber itself is 1000 x 1000 mm; active energy deposited outside the window
goes to that layer's `overflow` entry. 80 layers of 2 mm Pb + 4 mm LAr, 480 mm deep, so
X0 = 1/(2/6/5.6 + 4/6/140) mm = 15.6 mm, as the reference says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from hepad.errors import InputError
from hepad.io.atomic import atomic_path
from hepad.io.hdf5 import open_hdf5, read, require_keys

# Geometry (mm unless stated); depth is measured from the front face at z = 1.00 m.
Z_FRONT_M = 1.00  # front face, metres from the detector centre
DEPTH_MM = 480.0
LAYER_EDGES_MM = (0.0, 90.0, 437.0, 480.0)  # layer boundaries in depth: z = 1.09 m and 1.437 m
X0_MM = 15.6  # radiation length of the Pb/LAr mix
MOLIERE_MM = 36.0  # Moliere radius
HALF_WINDOW_MM = 240.0  # cell grid covers |x|, |y| < 240 mm
HALF_ABSORBER_MM = 500.0  # transverse half-size of the absorber (energy beyond is lost)
LAYER_SHAPES = ((3, 96), (12, 12), (12, 6))  # (nx, ny) per layer
CELL_MM = tuple((2 * HALF_WINDOW_MM / nx, 2 * HALF_WINDOW_MM / ny) for nx, ny in LAYER_SHAPES)
N_VOXELS = sum(nx * ny for nx, ny in LAYER_SHAPES)  # 504
LAYER_KEYS = ("layer_0", "layer_1", "layer_2")
KEYS = LAYER_KEYS + ("overflow", "energy")
# Voxel energies in [-NEG_TOL_MEV, 0) are float round-off (e.g. from rescaling) and set to 0.
NEG_TOL_MEV = 1e-3  # 1 keV


@dataclass
class Showers:
    """N showers: layers (3 arrays (N,nx,ny), MeV), overflow (N,3) MeV, energy (N,) GeV."""

    layers: tuple[np.ndarray, np.ndarray, np.ndarray]
    overflow: np.ndarray
    energy: np.ndarray

    def __len__(self) -> int:
        return len(self.energy)

    def __getitem__(self, idx) -> "Showers":
        return Showers(tuple(l[idx] for l in self.layers), self.overflow[idx], self.energy[idx])

    @staticmethod
    def concat(parts: list["Showers"]) -> "Showers":
        return Showers(
            tuple(np.concatenate([p.layers[i] for p in parts]) for i in range(3)),
            np.concatenate([p.overflow for p in parts]),
            np.concatenate([p.energy for p in parts]),
        )

    @staticmethod
    def from_flat(voxels: np.ndarray, overflow: np.ndarray, energy: np.ndarray) -> "Showers":
        """Split (N,504) voxels (CaloGAN order: layer 0, 1, 2; x-major) into the three layers."""
        n, parts, start = len(voxels), [], 0
        for nx, ny in LAYER_SHAPES:
            parts.append(voxels[:, start : start + nx * ny].reshape(n, nx, ny))
            start += nx * ny
        return Showers(tuple(parts), overflow, np.asarray(energy).reshape(n))


def flat_voxels(s: Showers) -> np.ndarray:
    """(N,504) voxel energies in MeV, CaloGAN order."""
    return np.concatenate([l.reshape(len(l), -1) for l in s.layers], axis=1)


def layer_energies(s: Showers) -> np.ndarray:
    """(N,3) layer energies E0, E1, E2 in MeV (overflow not included)."""
    return np.stack([l.reshape(len(l), -1).sum(axis=1) for l in s.layers], axis=1)


def deposited_energy(s: Showers, with_overflow: bool = False) -> np.ndarray:
    """(N,) total recorded energy E_dep in MeV: the sum of the 504 voxels (+ overflow if asked)."""
    e = layer_energies(s).sum(axis=1)
    return e + s.overflow.sum(axis=1) if with_overflow else e


def _check(source: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validate shapes, N, finiteness and signs; return float arrays (energy 1-d)."""
    expected = {k: (nx, ny) for k, (nx, ny) in zip(LAYER_KEYS, LAYER_SHAPES)} | {"overflow": (3,)}
    out, n = {}, None
    for key in KEYS:
        a = np.asarray(arrays[key])
        if key == "energy" and a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        tail = expected.get(key, ())
        if a.ndim != 1 + len(tail) or a.shape[1:] != tail:
            want = "(N,1)" if key == "energy" else f"(N,{','.join(map(str, tail))})"
            raise InputError(f"{source}: '{key}' has shape {a.shape}; expected {want}")
        if n is None:
            n = len(a)
        elif len(a) != n:
            raise InputError(f"{source}: '{key}' has {len(a)} showers but 'layer_0' has {n}; expected equal N")
        if not np.issubdtype(a.dtype, np.number):
            raise InputError(f"{source}: '{key}' has dtype {a.dtype}; expected floating-point energies")
        bad = ~np.isfinite(a)
        if bad.any():
            raise InputError(f"{source}: '{key}' has {int(bad.sum())} NaN/inf values; expected finite energies")
        if key == "energy":
            if (a <= 0).any():
                raise InputError(f"{source}: 'energy' has {int((a <= 0).sum())} values <= 0; expected kinetic energies > 0 GeV")
        else:
            worst = a.min(initial=0.0)
            if worst < -NEG_TOL_MEV:
                raise InputError(
                    f"{source}: '{key}' has negative energies (min {worst:.4g} MeV); expected >= 0 "
                    f"(values down to -{NEG_TOL_MEV} MeV are treated as round-off)"
                )
            a = np.maximum(a, 0.0)
        out[key] = a
    if n == 0:
        raise InputError(f"{source}: no showers (N = 0); expected at least one")
    return out


def read_showers(path: str | Path, label: str | None = None) -> Showers:
    """Read and validate a CaloGAN-layout HDF5 file (voxels float32, energy float64).

    `label` names the file in error messages (default: `path`), e.g. the archive and member it came from."""
    label = label or str(path)
    with open_hdf5(path, "an HDF5 file of CaloGAN showers", label) as f:
        require_keys(f, KEYS, label)
        raw = {k: read(f[k], label) for k in KEYS}
    a = _check(label, raw)
    return Showers(
        tuple(a[k].astype(np.float32, copy=False) for k in LAYER_KEYS),
        a["overflow"].astype(np.float32, copy=False),
        a["energy"].astype(np.float64, copy=False),
    )


def write_showers(path: str | Path, s: Showers, attrs: dict | None = None) -> None:
    """Write `s` in the CaloGAN layout (float32 voxels, gzip), atomically."""
    arrays = dict(zip(LAYER_KEYS, s.layers)) | {"overflow": s.overflow, "energy": s.energy}
    a = _check(str(path), arrays)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for k in LAYER_KEYS + ("overflow",):
            ds = f.create_dataset(k, data=a[k].astype(np.float32), compression="gzip", compression_opts=1, shuffle=True)
            ds.attrs["unit"] = "MeV"
        f.create_dataset("energy", data=a["energy"].reshape(-1, 1).astype(np.float64)).attrs["unit"] = "GeV"
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
