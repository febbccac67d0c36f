"""Typed results: a system's transport and a system's prediction, as every stage and analysis reads them.

They are built where they are computed (:func:`core.transport.onsager.system_transport`, the transport
stage, the learn stage's predict task) and become table rows only in :mod:`core.storage.layout`
(:func:`core.storage.layout.transport_to_row`, :func:`core.storage.layout.transport_from_row` and the prediction pair), so
the columns of ``transport.csv`` and ``predictions.csv`` are spelt in one place.

Units are localcond's reduced units (σ, τ, kT, e): L in 1/(σ τ kT), D in σ²/τ, κ in e²/(σ τ kT), Λ = κ/c
in e² σ²/(τ kT), concentrations in σ⁻³, times in τ.

Two kinds of uncertainty are kept apart by name (:class:`Estimate`): ``err`` is the standard error of the
value (from the trajectories' own statistics, or the pooled error of a label), ``std`` the scatter of single
samples around it (replicas, or ensemble members). With n independent replicas ``std / √n`` should be about
``err``, a check the report makes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

NAN = float("nan")


@dataclass(frozen=True)
class Estimate:
    """A measured number with its two uncertainties (NaN where there is none).

    value: the estimate. err: its standard error. std: the scatter of single samples (replicas or members,
    ddof 1 for replicas), not divided by √n.
    """

    value: float
    err: float = NAN
    std: float = NAN

    @property
    def relative_err(self) -> float:
        """|err / value| (NaN where the value is 0)."""
        return abs(self.err / self.value) if self.value else NAN


@dataclass(frozen=True)
class SpeciesTransport:
    """One ionic species of a mixture (more than two species): its row of the Onsager matrix, its self term
    and diffusion coefficient, pooled over replicas.

    name: the species' name; valence: z (e); count: ions per replica. onsager: (other species, L^{ab}) for
    every species b at or after this one in species order (L^{ba} = L^{ab}). self_onsager: L_self^{aa}.
    diffusion: D_a (σ²/τ).
    """

    name: str
    valence: float
    count: float
    onsager: tuple[tuple[str, Estimate], ...]
    self_onsager: Estimate
    diffusion: Estimate


@dataclass(frozen=True)
class TransportWindow:
    """The Einstein fit window shared by every coefficient of the system.

    t0, t1: its ends (τ). msd_loglog_slope: d log MSD / d log t of the ions' self MSD over it (1: diffusive).
    diffusive: whether the self MSD is diffusive there. collective_converged: whether the charge MSD's slope
    had stopped falling (None for a window the recipe forced). late_molar_conductivity: Λ from the charge
    MSD over the later comparison window, with its standard error.
    """

    t0: float
    t1: float
    msd_loglog_slope: float
    diffusive: bool
    collective_converged: bool | None
    late_molar_conductivity: Estimate = Estimate(NAN)


@dataclass(frozen=True)
class LabelCheck:
    """The relaxation-aware check of the label (docs/transport.md, :mod:`core.transport.relaxation`).

    molar_conductivity_relaxed: Λ with the charge MSD's relaxation modelled, with its standard error.
    relaxation_time: the fitted relaxation time (τ); relaxation_resolved: whether the window resolves it (None
    where the fit was not made). window_bias: Λ (window) − Λ (relaxed), ± √|σ_r² − σ_w²|.
    label_status: a :class:`core.transport.label_status.LabelStatus` value.
    """

    molar_conductivity_relaxed: Estimate
    relaxation_time: float
    relaxation_resolved: bool | None
    window_bias: Estimate
    label_status: str


@dataclass(frozen=True)
class AttributionSummary:
    """Λ as the mean of each ion's measured share (:mod:`core.transport.attribution`).

    molar_conductivity: the mean of the attribution with its block standard error (estimates the same Λ
    as the Einstein fit); self_part: its self part; horizon: the attribution's horizon (τ).
    """

    molar_conductivity: Estimate
    self_part: Estimate
    horizon: float


@dataclass(frozen=True, kw_only=True)
class SystemTransport:
    """The transport of one system, pooled over its replicas (a row of ``transport.csv``).

    Identity (from the recipe's grid; defaults for a file measured outside a run): system, concentration
    (nominal, σ⁻³), bjerrum_length (σ), paired_fraction, test_only.

    Coefficients, each an :class:`Estimate` pooled by inverse variance over the replicas (``std``: replica
    scatter): L_pp, L_mm, L_pm (collective, cations p, anions m), L_self_pp, L_self_mm, with a solvent
    L_ss, L_ps, L_ms, L_self_ss (NaN without one); D_p, D_m, D_s; kappa; molar_conductivity (Λ, the label),
    molar_conductivity_ne (Nernst–Einstein), molar_conductivity_equivalent (per equivalent); ionicity
    (Λ/Λ_NE); kappa_green_kubo (Green–Kubo κ where the files hold velocities; no ``err``).

    n_replicas; z_plus, z_minus (valences); ions (species labels); n_species; molar_conductivity_basis
    ("formula unit" or "equivalent"); simulated_time (τ, summed over replicas); formula_concentration
    (what Λ is per, measured, σ⁻³); species: a mixture's per-species values (empty for two species);
    window; label_check (None where it was not run); attribution (None without ``transport.attribution``).
    """

    system: str = ""
    concentration: float = NAN
    bjerrum_length: float = NAN
    paired_fraction: float = NAN
    test_only: bool = False
    n_replicas: int
    z_plus: float
    z_minus: float
    ions: str
    n_species: int
    molar_conductivity_basis: str
    L_pp: Estimate
    L_mm: Estimate
    L_pm: Estimate
    L_self_pp: Estimate
    L_self_mm: Estimate
    D_p: Estimate
    D_m: Estimate
    kappa: Estimate
    molar_conductivity: Estimate
    molar_conductivity_ne: Estimate
    molar_conductivity_equivalent: Estimate
    L_ss: Estimate
    L_ps: Estimate
    L_ms: Estimate
    L_self_ss: Estimate
    D_s: Estimate
    ionicity: Estimate
    kappa_green_kubo: Estimate
    simulated_time: float
    formula_concentration: float
    species: tuple[SpeciesTransport, ...] = ()
    window: TransportWindow
    label_check: LabelCheck | None = None
    attribution: AttributionSummary | None = None

    @property
    def molar_conductivity_sem(self) -> float:
        """The replica scatter of Λ over √n_replicas (compare with ``molar_conductivity.err``)."""
        return self.molar_conductivity.std / math.sqrt(self.n_replicas)

    @property
    def label_status(self) -> str | None:
        """The label check's status (None where the check was not run)."""
        return self.label_check.label_status if self.label_check is not None else None


#: The coefficients of :class:`SystemTransport` pooled with a standard error, in the table's order.
ESTIMATED = ("L_pp", "L_mm", "L_pm", "L_self_pp", "L_self_mm", "D_p", "D_m", "kappa", "molar_conductivity",
             "molar_conductivity_ne", "molar_conductivity_equivalent", "L_ss", "L_ps", "L_ms", "L_self_ss", "D_s")


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """The learned Λ of one system beside its label (a row of ``predictions.csv``).

    system; split ("train", "validation", "test", "external", ...); concentration (σ⁻³), bjerrum_length (σ),
    paired_fraction: its state point. true: the label Λ with its standard error (``err``). predicted: the
    main ensemble's mean Λ over members, ``std`` the members' spread. cross_predicted: the mean of the
    outer-fold members that never saw the system, ``std`` their spread (NaN without outer folds).
    n_environments: environments given to the model. k_mean_abs: mean |k| over them; k_std_median: the median
    member spread of k; k_posterior_std_median: the median posterior std of k (NaN for a model without
    ``local_variance``).
    """

    system: str
    split: str
    concentration: float
    bjerrum_length: float
    paired_fraction: float
    true: Estimate
    predicted: Estimate
    cross_predicted: Estimate = field(default_factory=lambda: Estimate(NAN))
    n_environments: int
    k_mean_abs: float = NAN
    k_std_median: float = NAN
    k_posterior_std_median: float = NAN
