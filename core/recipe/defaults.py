"""The numbers of the paper's Methods (Jones, Fong, Persson, Lee), used as recipe defaults.

Reduced Lennard-Jones units: σ, ε, τ, kT = 1, e = 1.
"""

from __future__ import annotations

#: Twelve salt concentrations, σ⁻³. The paper gives the range 0.0005–0.05; the
#: values are those of the authors' public code (which names 0.001 and 0.045).
CONCENTRATIONS: tuple[float, ...] = (0.0005, 0.001, 0.005, 0.01, 0.015, 0.02, 0.025,
                                     0.03, 0.035, 0.04, 0.045, 0.05)
#: Nine Bjerrum lengths, σ, spanning the paper's 2.5–10 and containing the
#: 2.5 / 4 / 6 / 10 of its ion-paired systems.
BJERRUM_LENGTHS: tuple[float, ...] = (2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0)
REPLICAS = 6
N_PARTICLES = 40_000
DENSITY = 0.8
STEPS = 10_000_000
TIMESTEP = 0.005
KT = 1.0
WCA_CUTOFF = 2.0 ** (1.0 / 6.0)
MAX_ENVIRONMENTS = 25_000
TEST_FRACTION = 0.1
N_FOLDS = 5
SEEDS_PER_FOLD = 5
#: Below this many trainable systems, ``outer_folds: auto`` adds an outer K-fold so that every
#: system gets a prediction from members that never saw it.
SMALL_DATASET_SYSTEMS = 20
OUTER_FOLDS = 5
#: SOAP (the paper's eqs. 13–16): neighbour cutoff, σ; radial basis functions; highest spherical harmonic;
#: Gaussian width of each neighbour's density, σ (the paper's 1σ; the laptop recipes state 0.5, docs/learn.md).
SOAP_R_CUT = 5.0
SOAP_N_MAX = 6
SOAP_L_MAX = 5
SOAP_SIGMA = 1.0
