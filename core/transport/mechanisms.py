"""Mechanism-resolved conductivity: Λ = Σ_c Λ_c over classes of ion environments (issue 43).

Derivation (docs/transport.md, "Mechanism-resolved conductivity"). Each ion's measured share k_i(s)
(:mod:`core.transport.attribution`) has mean Λ over ions and frames. Give every ion at every frame s one
class c(i, s), a function of the configuration at s. Then

    Λ_c = (1 / (n_ions · n_frames)) Σ_s Σ_{i: c(i,s) = c} k_i(s),        Σ_c Λ_c = mean of k = Λ,

exactly, frame by frame, because the classes partition the ions at every frame. In Green–Kubo form
Λ_c ∝ ∫⟨Σ_{i∈c(0)} z_i v_i(0)·J(t)⟩ dt: the current carried by the ions that are in class c at the time
origin, correlated with the whole current. An ion that leaves its class along the lag keeps counting for
the class it had at the origin (the class is read at the share's frame s, the centre of its velocity
difference; for a configurational class the symmetric window equals the one-sided integral by time
reversal). So Λ_c answers "how much of the conductivity is carried by ions that are, at a given moment,
free / in a neutral pair / in a charged cluster", and the classes' sum is the attributed Λ to round-off.

The shares used are the plain estimator (every ion's distinct terms, :meth:`SystemAttribution.full`), so
each class's mean is unbiased whatever the far part does in it.

Errors: each frame contributes A_c(s) = Σ_{i∈c} k_i(s) / n_ions to every class; frames are grouped into
blocks longer than the current window (:func:`core.transport.attribution.frame_blocks`) and the full
covariance of the class means is the block estimator's, so Var(Σ_c Λ_c) is the attributed Λ's own.

Classes (``kind``):

- ``cluster``: connected components of the graph whose edges join unlike ions (valences of opposite sign)
  closer than ``cutoff`` (minimum image); an ion's class is its cluster's size and net charge
  (clusters of more than :data:`MAX_CLUSTER_SIZE` ions are one class);
- ``shell``: the ion's sign and the number of unlike ions within ``cutoff`` (more than
  :data:`MAX_SHELL_COUNT` are one class).

- a user's function ``classify(frame, valence, box, cutoff) -> sequence of class names`` (one str per ion;
  frame (n, 3) unwrapped σ, valence (n,), box (3,) σ, the cutoff σ), any function of the configuration at
  the frame (e.g. distance to an interface, coordination by solvent); its classes are listed as seen.

``cutoff`` ``None`` takes the unlike ions' radial distribution function's first minimum
(:func:`first_minimum`). A class no ion visits within the range shown is reported as empty (Λ_c = 0 exactly,
zero members), not as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.results import Estimate
from core.transport.attribution import SystemAttribution, frame_blocks
from core.transport.replica_files import ReplicaPositions

#: The class kinds :func:`decompose` knows.
CLASS_KINDS = ("cluster", "shell")
#: Clusters with more ions than this are one class.
MAX_CLUSTER_SIZE = 4
#: Ions with more unlike neighbours than this in their first shell are one class.
MAX_SHELL_COUNT = 3
#: Frames (evenly spread) that :func:`first_minimum` reads, and its bin width (σ).
RDF_FRAMES = 200
RDF_BIN = 0.02
#: The RDF is smoothed over this many bins (a running mean) before its extrema are found.
RDF_SMOOTHING = 5


@dataclass(frozen=True)
class ClassContribution:
    """One class's part of Λ.

    name: what the class is, e.g. "free ion (+1)", "2-ion cluster (0)", "cation (+1), 1 unlike".
    contribution: Λ_c ± its block standard error (Λ units, as the label's).
    self_part: the part of Λ_c from the ions' own displacements (their Nernst–Einstein share), ± error.
    fraction: the fraction of ion-frames in the class (0–1). members: how many ion-frames.
    """

    name: str
    contribution: Estimate
    self_part: Estimate
    fraction: float
    members: int

    @property
    def empty(self) -> bool:
        """No ion was ever in this class: its contribution is 0 exactly."""
        return self.members == 0

    @property
    def per_ion(self) -> float:
        """Λ_c / fraction: the mean share of one ion while it is in the class (NaN where empty)."""
        return self.contribution.value / self.fraction if self.fraction > 0 else float("nan")


@dataclass(frozen=True)
class Decomposition:
    """Λ by class (:func:`decompose`).

    kind: "cluster", "shell" or a user's function's name; cutoff: the unlike-pair distance (σ); cutoff_found: whether it was the RDF's
    first minimum (True) or given (False); horizon: the shares' horizon (τ).
    classes: in order of class; covariance: (C, C) of their contributions.
    total: Σ_c Λ_c ± its error (the attributed Λ).
    """

    kind: str
    cutoff: float
    cutoff_found: bool
    horizon: float
    classes: tuple[ClassContribution, ...]
    covariance: np.ndarray
    total: Estimate

    def as_dict(self) -> dict:
        """JSON-ready: every class with value, error, self part, fraction, members and ``empty``."""
        return {"kind": self.kind, "cutoff": self.cutoff, "cutoff_from": "rdf first minimum" if self.cutoff_found
                else "given", "horizon": self.horizon,
                "total": self.total.value, "total_err": self.total.err,
                "classes": [{"name": c.name, "contribution": c.contribution.value,
                             "contribution_err": c.contribution.err, "self_part": c.self_part.value,
                             "self_part_err": c.self_part.err, "fraction": c.fraction, "members": c.members,
                             "empty": c.empty} for c in self.classes],
                "covariance": self.covariance.tolist()}


def _unlike_pairs(frame: np.ndarray, valence: np.ndarray, box: np.ndarray, cutoff: float) -> np.ndarray:
    """(P, 2) index pairs of unlike ions closer than ``cutoff`` in one frame ((n, 3) σ, minimum image)."""
    from scipy.spatial import cKDTree

    box = np.asarray(box, dtype=np.float64)
    wrapped = np.mod(frame, box)
    wrapped = np.where(wrapped >= box, 0.0, wrapped)          # mod can round up to the edge itself
    pairs = cKDTree(wrapped, boxsize=box).query_pairs(cutoff, output_type="ndarray")
    if not len(pairs):
        return pairs.reshape(0, 2)
    return pairs[valence[pairs[:, 0]] * valence[pairs[:, 1]] < 0]


def cluster_components(frame: np.ndarray, valence: np.ndarray, box: np.ndarray, cutoff: float) -> np.ndarray:
    """(n,) the cluster index of each ion in one frame: connected components of the graph joining unlike ions
    (valences, or signs, of opposite sign) closer than ``cutoff`` (σ, minimum image; frame (n, 3) σ, box (3,))."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(valence)
    pairs = _unlike_pairs(frame, np.asarray(valence, dtype=np.float64), box, cutoff)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def cluster_classes(frame: np.ndarray, valence: np.ndarray, box: np.ndarray, cutoff: float
                    ) -> list[tuple[int, float]]:
    """Each ion's (cluster size, net charge) in one frame ((n, 3) σ; valences (n,); box (3,) σ)."""
    component = cluster_components(frame, valence, box, cutoff)
    size = np.bincount(component, minlength=len(valence))
    charge = np.bincount(component, weights=valence, minlength=len(valence))
    return [(int(size[c]), round(float(charge[c]), 6)) for c in component]   # 0.8 + 0.8 − 0.8 is one charge


def shell_classes(frame: np.ndarray, valence: np.ndarray, box: np.ndarray, cutoff: float) -> list[tuple[float, int]]:
    """Each ion's (valence, number of unlike ions within ``cutoff``) in one frame."""
    pairs = _unlike_pairs(frame, valence, box, cutoff)
    count = np.bincount(pairs.ravel(), minlength=len(valence))
    return [(float(z), int(k)) for z, k in zip(valence, count)]


#: A user's class function: (frame (n, 3) σ, valence (n,), box (3,) σ, cutoff σ) -> one class name per ion.
Classifier = Callable[[np.ndarray, np.ndarray, np.ndarray, float], Sequence[str]]


def class_name(kind: str | Classifier, key) -> str:
    """A reader's name for a class key of :func:`class_keys`."""
    if callable(kind):
        return str(key)
    if kind == "cluster":
        size, charge = key
        if size > MAX_CLUSTER_SIZE:
            return f"clusters of {MAX_CLUSTER_SIZE + 1}+ ions"
        return (f"free ion ({charge:+g})" if size == 1 else f"{size}-ion cluster ({charge:+g})").replace("(+0)",
                                                                                                         "(0)")
    z, count = key
    sign = "cation" if z > 0 else "anion"
    shown = f"{MAX_SHELL_COUNT + 1}+" if count > MAX_SHELL_COUNT else str(count)
    return f"{sign} ({z:+g}), {shown} unlike in first shell"


def class_keys(kind: str | Classifier, frame: np.ndarray, valence: np.ndarray, box: np.ndarray,
               cutoff: float) -> list:
    """Each ion's class key in one frame, with the large clusters and shells lumped (a user's function: its
    names, checked to be one str per ion)."""
    if callable(kind):
        names = list(kind(frame, valence, box, cutoff))
        if len(names) != len(valence) or not all(isinstance(name, str) for name in names):
            raise ValueError(f"the class function returned {len(names)} values for {len(valence)} ions; it must "
                             "return one class name (str) per ion")
        return names
    if kind == "cluster":
        return [(size, charge) if size <= MAX_CLUSTER_SIZE else (MAX_CLUSTER_SIZE + 1, 0.0)
                for size, charge in cluster_classes(frame, valence, box, cutoff)]
    if kind == "shell":
        return [(z, min(count, MAX_SHELL_COUNT + 1)) for z, count in shell_classes(frame, valence, box, cutoff)]
    raise ValueError(f"class kind must be one of {', '.join(CLASS_KINDS)}, got {kind!r}")


def first_minimum(positions: Sequence[ReplicaPositions], frames: int = RDF_FRAMES) -> float:
    """The unlike ions' RDF's first minimum after its first peak (σ), from up to ``frames`` frames spread
    over the replicas; ValueError where the RDF has no such minimum within half the box."""
    from scipy.spatial import cKDTree

    box = np.asarray(positions[0].box, dtype=np.float64)
    if not np.all(np.isfinite(box)):
        raise ValueError(f"{positions[0].source}: no box edges; give the cutoff")
    r_max = 0.5 * float(box.min())
    edges = np.arange(0.0, r_max + RDF_BIN, RDF_BIN)
    counts = np.zeros(len(edges) - 1)
    n_frames, pairs_expected = 0, 0.0
    per_replica = max(1, frames // len(positions))
    for p in positions:
        ions, valence = p.ions, np.asarray(p.ion_valence, dtype=np.float64)
        cations, anions = np.flatnonzero(valence > 0), np.flatnonzero(valence < 0)
        for s in np.unique(np.linspace(0, len(ions) - 1, per_replica).astype(int)):
            points = np.mod(ions[s], box)
            tree_a = cKDTree(points[cations], boxsize=box * (1 + 1e-12))
            tree_b = cKDTree(points[anions], boxsize=box * (1 + 1e-12))
            cumulative = tree_a.count_neighbors(tree_b, edges, cumulative=True).astype(np.float64)
            counts += np.diff(cumulative)
            n_frames += 1
            pairs_expected += len(cations) * len(anions) / float(np.prod(box))
    shells = 4.0 / 3.0 * math.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    rdf = counts / (pairs_expected * shells)
    smooth = np.convolve(rdf, np.ones(RDF_SMOOTHING) / RDF_SMOOTHING, mode="same")
    peak = int(np.argmax(smooth))
    for index in range(peak + 1, len(smooth) - 1):
        if smooth[index] <= smooth[index - 1] and smooth[index] < smooth[index + 1] and smooth[index] < smooth[peak]:
            return float(0.5 * (edges[index] + edges[index + 1]))
    raise ValueError(f"{positions[0].source}: the unlike ions' RDF has no first minimum within half the box "
                     f"({r_max:.3g} σ); give the cutoff")


def decompose(positions: Sequence[ReplicaPositions], attribution: SystemAttribution, *, kind: str | Classifier,
              cutoff: float | None = None, stride: int = 1) -> Decomposition:
    """Λ by class of ion environment (see the module docstring) for the replicas ``positions`` whose shares
    are ``attribution``; ``cutoff`` σ (None: the unlike RDF's first minimum). ``stride``: every how many
    frames with a share are counted (the classes then partition the mean share over those frames, an
    unbiased estimate of Λ with a larger error). Where ``positions`` hold fewer frames than the shares (the
    first segment of an extended run), only the frames they hold are counted."""
    if not (isinstance(stride, int) and stride >= 1):
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    if not callable(kind) and kind not in CLASS_KINDS:
        raise ValueError(f"class kind must be one of {', '.join(CLASS_KINDS)} or a function, got {kind!r}")
    if cutoff is not None and not (math.isfinite(cutoff) and cutoff > 0):
        raise ValueError(f"the cutoff must be a positive number of σ, got {cutoff!r}")
    found = cutoff is None
    cutoff = first_minimum(positions) if cutoff is None else float(cutoff)
    box = np.asarray(positions[0].box, dtype=np.float64)
    if not np.all(np.isfinite(box)):
        raise ValueError(f"{positions[0].source}: no box edges; classes need them")
    index_of: dict[tuple, int] = {}
    frame_sums: list[np.ndarray] = []          # per frame: (C,) Σ_{i∈c} k_i / n_ions, grown as classes appear
    self_sums: list[np.ndarray] = []
    member_counts: list[np.ndarray] = []
    blocks: list[int] = []
    for number, (p, shares) in enumerate(zip(positions, attribution.replicas)):
        total, own = attribution.full(number), shares.self_part
        valence = np.asarray(shares.valence, dtype=np.float64)
        order = _columns(p, shares)
        ions = p.ions[:, order]
        defined = np.flatnonzero(np.isfinite(total[:, 0]))
        defined = defined[defined < len(ions)][::stride]      # shares of frames the positions do not hold: not classed
        block = frame_blocks(np.full(len(defined), number), defined, attribution.horizon_frames)
        n_ions = total.shape[1]
        for s, b in zip(defined, block):
            keys = class_keys(kind, ions[s], valence, box, cutoff)
            codes = np.array([index_of.setdefault(key, len(index_of)) for key in keys])
            size = len(index_of)
            frame_sums.append(np.bincount(codes, weights=total[s].astype(np.float64), minlength=size) / n_ions)
            self_sums.append(np.bincount(codes, weights=own[s].astype(np.float64), minlength=size) / n_ions)
            member_counts.append(np.bincount(codes, minlength=size))
            blocks.append(int(b))
    if not frame_sums:
        raise ValueError(f"{positions[0].source}: no frame has a share (the horizon leaves the run no frame)")
    valences = {float(z) for shares in attribution.replicas for z in np.unique(shares.valence)}
    keys = _shown_keys(kind, list(index_of), valences)
    width = len(index_of)
    a = np.array([np.pad(x, (0, width - len(x))) for x in frame_sums])
    own = np.array([np.pad(x, (0, width - len(x))) for x in self_sums])
    members = np.array([np.pad(x, (0, width - len(x))) for x in member_counts]).sum(axis=0)
    columns = [index_of.get(key) for key in keys]

    def pick(matrix: np.ndarray) -> np.ndarray:
        return np.column_stack([matrix[:, c] if c is not None else np.zeros(len(matrix)) for c in columns])

    values, covariance = _block_means(pick(a), np.array(blocks))
    self_values, self_covariance = _block_means(pick(own), np.array(blocks))
    counts = np.array([members[c] if c is not None else 0 for c in columns])
    total_members = members.sum()
    classes = tuple(ClassContribution(class_name(kind, key), Estimate(float(v), float(math.sqrt(max(cv, 0.0)))),
                                      Estimate(float(sv), float(math.sqrt(max(scv, 0.0)))),
                                      float(n / total_members), int(n))
                    for key, v, cv, sv, scv, n in zip(keys, values, np.diag(covariance), self_values,
                                                      np.diag(self_covariance), counts))
    total = Estimate(float(values.sum()), float(math.sqrt(max(covariance.sum(), 0.0))))
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", "custom")
    return Decomposition(name, cutoff, found, attribution.horizon, classes, covariance, total)


def class_members(kind: str | Classifier, cutoff: float, frame: np.ndarray, valence: np.ndarray, box: np.ndarray,
                  names: Sequence[str]) -> np.ndarray:
    """(n,) the column in ``names`` of each ion's class in one frame (-1 where its class is not among them)."""
    where = {name: column for column, name in enumerate(names)}
    return np.array([where.get(class_name(kind, key), -1) for key in class_keys(kind, frame, valence, box, cutoff)])


def _columns(positions: ReplicaPositions, shares) -> np.ndarray:
    """The columns of ``positions.ions`` in the order of the shares' ions (both are cations then anions of
    the same file; checked by particle index where both have one)."""
    n = positions.ions.shape[1]
    if len(positions.ion_index) == n and len(shares.ion_index) == n:
        where = {int(index): column for column, index in enumerate(positions.ion_index)}
        try:
            return np.array([where[int(index)] for index in shares.ion_index])
        except KeyError:
            raise ValueError(f"{positions.source}: the shares name particles that are not ions of the file") from None
    return np.arange(n)


def _shown_keys(kind: str | Classifier, seen: list, valences: set[float]) -> list:
    """The classes in the table: every class seen, plus, so that an absent mechanism shows as an empty class,
    (shell) every count from 0 to the largest seen for each valence, and (cluster) the free ion of every
    valence and the unlike pair of every two valences of opposite sign."""
    if callable(kind):
        return sorted(seen)
    keys = set(seen)
    if kind == "shell":
        for z in valences:
            top = max([count for valence, count in seen if valence == z], default=0)
            keys.update((z, count) for count in range(top + 1))
    else:
        keys.update((1, z) for z in valences)
        keys.update((2, a + b) for a in valences for b in valences if a > 0 > b)
    return sorted(keys, key=lambda key: (key[0], -key[1]) if kind == "cluster" else (-key[0], key[1]))


def _block_means(samples: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C,) means over frames of ``samples`` (F, C) and their (C, C) covariance from block sums (the
    estimator of :func:`core.transport.attribution.block_mean`, for every pair of columns)."""
    labels, inverse = np.unique(blocks, return_inverse=True)
    sums = np.zeros((len(labels), samples.shape[1]))
    np.add.at(sums, inverse, samples)
    counts = np.bincount(inverse).astype(np.float64)
    n = counts.sum()
    means = sums.sum(axis=0) / n
    if len(labels) < 2:
        return means, np.full((samples.shape[1],) * 2, np.nan)
    deviation = sums - counts[:, None] * means[None, :]
    covariance = deviation.T @ deviation * len(labels) / (len(labels) - 1) / n ** 2
    return means, covariance
