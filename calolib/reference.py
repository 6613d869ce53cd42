"""Layer-energy correlations against Geant4: the CaloChallenge ds2 reference matrix and the distance to it.

The CaloChallenge 2022 evaluation of dataset 2 compares the 45 x 45 Pearson correlation matrix of the layer
energies: every voxel below the threshold is set to zero, each shower's energy is summed per layer, and
``np.corrcoef`` is taken over showers (E_inc log-uniform 1 GeV - 1 TeV).  The published results table
(``final_results/CaloChallenge_results_ds2.hdf`` of CaloChallenge/homepage, column "PCC Layer Energies", row
"GEANT4"; the figures of arXiv 2410.21611) holds that matrix for the Geant4 reference showers; it ships here as
``calolib/data/g4_ds2_layer_pcc.npy`` (un-reversed: row i / column j = layer i / layer j).

The distance of a sample is the Frobenius norm ``D = ||PCC_sample - PCC_G4||_F`` and the contribution of layer
``i`` is the norm of its row of the difference, ``||row_i||`` (so ``D^2 = sum_i ||row_i||^2``).  The published
models sit at ``D`` = 1.00 (CaloDREAM) ... 7.42 (CaloPointFlow), see :data:`PUBLISHED_DISTANCES`.  A finite
sample adds noise: :func:`compare` gives a bootstrap error of ``D`` over showers.

The reference is used to *validate* and calibrate the synthetic model (``calolib data validate``); the generator
in :mod:`calolib.synthetic` never reads it.

Example:
    >>> ref = load_reference()
    >>> ref.shape, float(ref[3, 3]), bool(np.allclose(ref, ref.T))
    ((45, 45), 1.0, True)
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from calolib.errors import CalolibError, GeometryError

__all__ = ["REFERENCE_GEOMETRY", "PUBLISHED_DISTANCES", "load_reference", "layer_energies", "file_layer_energies",
           "layer_pcc", "pearson_matrix", "frobenius_distance", "row_contributions", "compare", "fixed_energy_pcc",
           "plot_comparison"]


def __dir__():
    return __all__


#: the only geometry with a Geant4 layer-correlation reference in calolib
REFERENCE_GEOMETRY = "ds2"

#: ||PCC_model - PCC_G4||_F of the published ds2 models (CaloChallenge results table, arXiv 2410.21611)
PUBLISHED_DISTANCES: dict[str, float] = {
    "CaloDREAM": 1.00, "conv. L2LFlows": 1.03, "iCaloFlow student": 1.24, "CaloScore": 1.44, "CaloDiffusion": 1.60,
    "SuperCalo": 1.60, "CaloVAE+INN": 1.60, "iCaloFlow teacher": 2.10, "MDMA": 2.56, "CaloINN": 2.75,
    "DeepTree": 3.01, "Calo-VQ": 3.38, "CaloScore distilled": 4.42, "CaloScore single-shot": 6.24,
    "CaloPointFlow": 7.42, "CaloLatent": 16.4, "CaloDiT": 35.0,
}


def load_reference(geometry: str = REFERENCE_GEOMETRY) -> np.ndarray:
    """The Geant4 layer-energy Pearson matrix (45, 45) float64 of CaloChallenge dataset 2.

    Raises:
        GeometryError: for any geometry but ds2 (no reference is shipped for ds1 or ds3).

    Example:
        >>> load_reference("ds3")
        Traceback (most recent call last):
        ...
        calolib.errors.GeometryError: a Geant4 layer-correlation reference exists only for ds2, not ds3
    """
    from calolib.geometry import get_geometry

    name = get_geometry(geometry).name
    if name != REFERENCE_GEOMETRY:
        raise GeometryError(f"a Geant4 layer-correlation reference exists only for ds2, not {name}")
    with resources.files("calolib").joinpath("data", "g4_ds2_layer_pcc.npy").open("rb") as f:
        return np.load(f).astype(np.float64)


def layer_energies(showers, geometry=None, *, threshold_mev: float | None = None) -> np.ndarray:
    """Energy per active layer (N, L) float64 MeV after zeroing voxels below ``threshold_mev``.

    ``showers`` is a :class:`~calolib.showers.Showers` or an (N, V) array in MeV (then give ``geometry``);
    ``threshold_mev=None`` uses the geometry's CaloChallenge threshold (15.15 keV for ds2/ds3).

    Example:
        >>> x = np.zeros((2, 6480)); x[0, 0] = 0.01; x[1, 0] = 0.5; x[1, 144] = 2.0
        >>> layer_energies(x, "ds2")[:, :2].tolist()
        [[0.0, 0.0], [0.5, 2.0]]
    """
    from calolib.geometry import get_geometry

    geom = get_geometry(geometry if geometry is not None else showers.geometry)
    arr = np.asarray(getattr(showers, "showers", showers))
    thr = geom.threshold_mev if threshold_mev is None else float(threshold_mev)
    le = geom.layer_energies(np.where(arr < thr, 0, arr).astype(np.float64))
    return le[:, list(geom.active_layers)]


def file_layer_energies(path, *, max_events: int | None = None, batch_size: int = 5000,
                        threshold_mev: float | None = None):
    """``(e_inc (N,) MeV, layer energies (N, L) MeV, geometry)`` of a CaloChallenge file, read in batches.

    Raises:
        ShowerFileError: a missing, unreadable or malformed file.

    Example:
        >>> import tempfile, pathlib
        >>> from calolib.io import save_showers
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
        >>> save_showers(p, np.full(3, 1e3), np.ones((3, 6480)))
        >>> e, le, g = file_layer_energies(p)
        >>> le.shape, float(le[0, 0]), g.name
        ((3, 45), 144.0, 'ds2')
    """
    from calolib.io import ShowerFile

    es, les = [], []
    with ShowerFile(path) as f:
        geom = f.geometry
        stop = len(f) if max_events is None else min(len(f), int(max_events))
        for lo in range(0, stop, batch_size):
            s = f.read(lo, min(lo + batch_size, stop))
            es.append(np.asarray(s.energies, dtype=np.float64))
            les.append(layer_energies(s, threshold_mev=threshold_mev))
    n_l = len(geom.active_layers)
    e = np.concatenate(es) if es else np.zeros(0)
    return e, (np.concatenate(les) if les else np.zeros((0, n_l))), geom


def layer_pcc(le: np.ndarray) -> np.ndarray:
    """Pearson correlation matrix (L, L) of layer energies ``le`` (N, L), as ``np.corrcoef(le.T)``.

    A layer whose energy is constant over the showers (e.g. always empty) has no defined correlation: its
    off-diagonal entries are 0 and its diagonal 1.

    Raises:
        CalolibError: fewer than 2 showers.

    Example:
        >>> le = np.array([[1.0, 2.0, 0.0], [2.0, 4.5, 0.0], [3.0, 5.0, 0.0]])
        >>> np.round(layer_pcc(le), 3).tolist()
        [[1.0, 0.933, 0.0], [0.933, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    le = np.asarray(le, dtype=np.float64)
    if le.ndim != 2 or le.shape[0] < 2:
        raise CalolibError(f"layer correlations need at least 2 showers, got {le.shape[0] if le.ndim else 0}")
    return pearson_matrix(le)


def pearson_matrix(x: np.ndarray) -> np.ndarray:
    """Pearson correlation matrix (F, F) of the columns of ``x`` (N ≥ 2, F) float64; a constant column has
    off-diagonal entries 0 and diagonal 1 (callers check N).  The one implementation behind :func:`layer_pcc`
    and :func:`calolib.diagnostics.frobenius.correlation_matrix`.

    Example:
        >>> pearson_matrix(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 7.0]])).round(3).tolist()
        [[1.0, 0.993], [0.993, 1.0]]
    """
    xc = x - x.mean(axis=0)
    sd = np.sqrt((xc**2).sum(axis=0))
    ok = sd > 1e-12 * max(float(np.abs(x).max()), 1e-300)
    z = np.where(ok, xc / np.where(ok, sd, 1.0), 0.0)
    c = z.T @ z
    np.fill_diagonal(c, 1.0)
    return np.clip(c, -1.0, 1.0)


def frobenius_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b||_F`` of two (L, L) matrices.

    Example:
        >>> frobenius_distance(np.eye(2), np.array([[1.0, 0.3], [0.4, 1.0]]))
        0.5
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise CalolibError(f"matrices of different shapes {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b))


def row_contributions(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``||row_i(a - b)||`` (L,) for every layer i; their squares sum to ``frobenius_distance(a, b)**2``.

    Example:
        >>> row_contributions(np.eye(2), np.array([[1.0, 0.3], [0.4, 1.0]])).round(2).tolist()
        [0.3, 0.4]
    """
    return np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), axis=1)


def compare(le: np.ndarray, reference: np.ndarray | None = None, *, n_boot: int = 20, n_worst: int = 5,
            seed: int = 0) -> dict:
    """Distance of the layer energies ``le`` (N, L) MeV to the reference matrix (default: Geant4 ds2).

    Returns a JSON-able dict: ``n_events``, ``distance``, ``distance_err`` (standard deviation over ``n_boot``
    bootstrap resamples of the showers), ``noise_floor`` (the distance sampling noise alone adds at this size:
    ``sqrt(sum_ij var(r_ij))`` with the bootstrap variances of the matrix entries), ``rows`` (L,) the row
    contributions, ``rows_noise`` (L,) the same noise per row (``sqrt(sum_j var(r_ij))``), ``worst_rows`` (the ``n_worst`` largest as ``[layer, contribution]``), ``pcc`` (L, L) the
    sample's matrix (list of lists) and ``published`` (:data:`PUBLISHED_DISTANCES`).  With ``n_boot < 2`` the
    error and the floor are NaN.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> z = rng.standard_normal((4000, 1)); le = z + 0.5 * rng.standard_normal((4000, 3))
        >>> ref = np.full((3, 3), 0.8); np.fill_diagonal(ref, 1.0)  # the exact correlation 1 / 1.25
        >>> out = compare(le, ref)
        >>> out["distance"] < 3 * out["noise_floor"] < 0.1, out["worst_rows"][0][0] in (0, 1, 2)
        (True, True)
    """
    ref = load_reference() if reference is None else np.asarray(reference, dtype=np.float64)
    le = np.asarray(le, dtype=np.float64)
    if le.ndim != 2 or le.shape[1] != ref.shape[0]:
        raise CalolibError(f"layer energies have {le.shape[-1] if le.ndim else 0} layers, the reference "
                           f"{ref.shape[0]}")
    c = layer_pcc(le)
    rows = row_contributions(c, ref)
    rng = np.random.default_rng(seed)
    boots = [layer_pcc(le[rng.integers(0, le.shape[0], le.shape[0])]) for _ in range(n_boot if n_boot >= 2 else 0)]
    if boots:
        err = float(np.std([frobenius_distance(b, ref) for b in boots], ddof=1))
        var = np.var(np.stack(boots), axis=0, ddof=1)
        floor, rows_noise = float(np.sqrt(var.sum())), np.sqrt(var.sum(axis=1))
    else:
        err = floor = float("nan")
        rows_noise = np.full(rows.shape, np.nan)
    worst = np.argsort(rows)[::-1][:n_worst]
    return {"n_events": int(le.shape[0]), "distance": frobenius_distance(c, ref), "distance_err": err,
            "noise_floor": floor, "rows": rows.tolist(), "rows_noise": rows_noise.tolist(), "worst_rows": [[int(i), float(rows[i])] for i in worst],
            "pcc": c.tolist(), "published": dict(PUBLISHED_DISTANCES)}


def fixed_energy_pcc(e_inc: np.ndarray, le: np.ndarray, lo_mev: float, hi_mev: float) -> tuple[np.ndarray, int]:
    """``(PCC (L, L), number of showers)`` of the showers with ``lo_mev <= E_inc < hi_mev``: at (nearly) fixed
    E_inc the correlations show the shower's own fluctuations instead of the common scaling with E_inc.
    With fewer than 2 showers in the bin the matrix is all NaN.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> e = np.exp(rng.uniform(np.log(1e3), np.log(1e6), 2000)); d = rng.standard_normal(2000)
        >>> le = np.stack([e * (1 + 0.3 * d), e * (1 - 0.3 * d)], axis=1)  # a depth shift moves energy
        >>> round(float(layer_pcc(le)[0, 1]), 2)  # over the spectrum both layers follow E_inc
        0.79
        >>> c, n = fixed_energy_pcc(e, le, 1e5, 1.1e5)  # at fixed E_inc the shift anti-correlates them
        >>> bool(c[0, 1] < -0.9), n
        (True, 27)
    """
    e_inc = np.asarray(e_inc, dtype=np.float64)
    le = np.asarray(le, dtype=np.float64)
    sel = (e_inc >= lo_mev) & (e_inc < hi_mev)
    if sel.sum() < 2:
        return np.full((le.shape[1], le.shape[1]), np.nan), int(sel.sum())
    return layer_pcc(le[sel]), int(sel.sum())


def plot_comparison(pcc: np.ndarray, reference: np.ndarray | None = None, *, axes=None, label: str = "sample",
                    distance: float | None = None, diff_range: float | None = None) -> list:
    """The reference matrix, the sample's and their difference (sample - reference), side by side.

    Args:
        pcc: the sample's (L, L) layer-energy correlations.
        reference: default the Geant4 ds2 matrix.
        axes: three axes (default: a new 1 x 3 figure).
        label: name of the sample in the titles.
        distance: written in the title of the difference panel (default: computed).
        diff_range: colour range +-diff_range of the difference (default: max |difference|, at least 0.1).

    Returns the three images.

    Example:
        >>> import matplotlib; matplotlib.use("agg")
        >>> ims = plot_comparison(load_reference() * 0.9 + 0.1 * np.eye(45))
        >>> len(ims), ims[2].get_array().shape
        (3, (45, 45))
    """
    import matplotlib.pyplot as plt

    from calolib.plotting import style

    style.use_style()
    ref = load_reference() if reference is None else np.asarray(reference, dtype=np.float64)
    pcc = np.asarray(pcc, dtype=np.float64)
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(19, 5.6), layout="constrained")
    diff = pcc - ref
    d = frobenius_distance(pcc, ref) if distance is None else float(distance)
    rng = diff_range if diff_range is not None else max(0.1, float(np.abs(diff).max()))
    ims = []
    low = min(0.0, float(min(pcc.min(), ref.min())))
    for ax, mat, title, kw in ((axes[0], ref, "Geant4 (CaloChallenge ds2)", {"vmin": low, "vmax": 1, "cmap": "viridis"}),
                               (axes[1], pcc, label, {"vmin": low, "vmax": 1, "cmap": "viridis"}),
                               (axes[2], diff, f"{label} − Geant4: ‖Δ‖_F = {d:.2f}",
                                {"vmin": -rng, "vmax": rng, "cmap": "RdBu_r"})):
        im = ax.imshow(mat, origin="lower", interpolation="nearest", **kw)
        ax.figure.colorbar(im, ax=ax, label="Δ Pearson correlation" if mat is diff else "Pearson correlation",
                           shrink=0.9)
        style.label_axes(ax, "layer", "layer")
        ax.set_title(title, fontsize="medium")
        ims.append(im)
    return ims

