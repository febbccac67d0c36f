"""The test package's plugin classes."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import numpy as np
from pydantic import Field
from scipy.spatial import cKDTree

from core.api import (AnalysisInputs, AnalysisPlugin, AnalysisResult, DescriptorPlugin, Frame, GSDWriter,
                      LearningData, ModelPlugin, PluginConfig, SimulationJob, SimulatorPlugin, TaskContext,
                      trajectory_log)


#: Set to a Bjerrum length (e.g. "5") to make simulations of those systems fail: a transient fault.
FAIL_VARIABLE = "LOCALCOND_TESTPLUGINS_FAIL_LB"


class BrownianConfig(PluginConfig):
    D_cation: float = Field(default=1.0, gt=0)
    D_anion: float = Field(default=0.5, gt=0)
    D_solvent: float = Field(default=1.0, gt=0)
    seconds_per_frame: float = Field(default=0.0, ge=0)


class Brownian(SimulatorPlugin):
    name = "brownian"
    version = "1.0"
    Config = BrownianConfig
    description = "ideal Brownian particles (test plugin)"

    def simulate(self, job: SimulationJob, context: TaskContext) -> dict:
        config = self.config
        system = job.system
        if os.environ.get(FAIL_VARIABLE) == f"{system.bjerrum_length:g}":
            raise RuntimeError(f"configured to fail at l_B = {system.bjerrum_length}")
        rng = np.random.default_rng(job.seed)
        n_pairs, n = system.n_ion_pairs, system.n_particles
        length = system.box_length
        types = ("cation", "anion", "solvent")
        typeid = np.array([0] * n_pairs + [1] * n_pairs + [2] * (n - 2 * n_pairs), dtype=np.int32)
        diffusion = np.array([config.D_cation, config.D_anion, config.D_solvent])[typeid]
        bonded = system.n_bonded_pairs
        bonds = np.array([[i, n_pairs + i] for i in range(bonded)], dtype=np.int64).reshape(-1, 2)
        unwrapped = rng.uniform(-length / 2, length / 2, size=(n, 3))
        unwrapped[n_pairs:n_pairs + bonded] = unwrapped[:bonded] + [job.settings.bond_r0, 0, 0]
        interval = job.settings.write_period * job.settings.timestep
        box = np.full(3, length)
        log = trajectory_log(system, job.settings, job.seed, engine="numpy-brownian")
        with GSDWriter(job.trajectory_path, log) as writer:
            for index in range(job.settings.steps // job.settings.write_period + 1):
                image = np.floor((unwrapped + length / 2) / length).astype(np.int32)
                writer.append(Frame(unwrapped - image * length, box, typeid, types, image, bonds,
                                    step=index * job.settings.write_period, time=index * interval))
                step = rng.normal(size=(n, 3)) * np.sqrt(2 * diffusion * interval)[:, None]
                step[n_pairs:n_pairs + bonded] = step[:bonded]
                unwrapped = unwrapped + step
                time.sleep(config.seconds_per_frame)
        return {"engine": "numpy-brownian"}


class ShellConfig(PluginConfig):
    r_cut: float = Field(default=3.0, gt=0)
    seconds_per_frame: float = Field(default=0.0, ge=0)


class ShellCounts(DescriptorPlugin):
    name = "shell-counts"
    version = "1.0"
    Config = ShellConfig
    description = "like and unlike ions within r_cut (test plugin)"

    def feature_names(self, types):
        return ["like", "unlike"]

    def compute(self, frame: Frame, centers: np.ndarray) -> np.ndarray:
        time.sleep(self.config.seconds_per_frame)
        sign = frame.ion_sign
        wrapped = np.mod(frame.positions, frame.box)
        wrapped = np.where(wrapped >= frame.box, 0.0, wrapped)
        out = np.zeros((len(centers), 2))
        for column, relation in enumerate((1, -1)):
            for charge in (1, -1):
                mine = np.flatnonzero(sign[centers] == charge)
                others = np.flatnonzero(sign == relation * charge)
                if len(mine) == 0 or len(others) == 0:
                    continue
                tree = cKDTree(wrapped[others], boxsize=frame.box)
                counts = tree.query_ball_point(wrapped[centers[mine]], r=self.config.r_cut, return_length=True)
                out[mine, column] = counts - (1 if relation == 1 else 0)
        return out


class MeanLinearConfig(PluginConfig):
    seconds_per_fit: float = Field(default=0.0, ge=0)


class MeanLinearModel:
    """k = w·x + b by weighted least squares of Λ_s on system-mean features."""

    def __init__(self, seconds_per_fit: float = 0.0) -> None:
        self.seconds_per_fit = seconds_per_fit

    def fit(self, train: LearningData, validation: LearningData | None = None) -> MeanLinearModel:
        time.sleep(self.seconds_per_fit)
        means = np.stack([np.bincount(train.system_index, weights=train.weight * train.features[:, j],
                                      minlength=train.n_systems) for j in range(train.features.shape[1])], axis=1)
        totals = np.bincount(train.system_index, weights=train.weight, minlength=train.n_systems)
        design = np.hstack([means, totals[:, None]])
        sqrt_w = 1 / np.sqrt(train.variance)
        solution, *_ = np.linalg.lstsq(design * sqrt_w[:, None], train.target * sqrt_w, rcond=None)
        self.coef_, self.intercept_ = solution[:-1], float(solution[-1])
        return self

    def predict_local(self, features: np.ndarray) -> np.ndarray:
        return features @ self.coef_ + self.intercept_

    def save(self, directory: Path) -> None:
        (directory / "linear.json").write_text(json.dumps({"coef": self.coef_.tolist(),
                                                           "intercept": self.intercept_}))


class MeanLinear(ModelPlugin):
    name = "mean-linear"
    version = "1.0"
    Config = MeanLinearConfig
    stochastic = False
    description = "linear k on system-mean features (test plugin)"

    def create(self, seed: int, threads: int) -> MeanLinearModel:
        return MeanLinearModel(self.config.seconds_per_fit)

    def load(self, directory: Path) -> MeanLinearModel:
        data = json.loads((directory / "linear.json").read_text())
        model = MeanLinearModel()
        model.coef_, model.intercept_ = np.array(data["coef"]), data["intercept"]
        return model


class SummaryConfig(PluginConfig):
    seconds: float = Field(default=0.0, ge=0)


class Summary(AnalysisPlugin):
    name = "summary"
    version = "1.0"
    Config = SummaryConfig
    needs = frozenset({"predictions"})
    description = "parity plot and table (test plugin)"

    def run(self, inputs: AnalysisInputs, output_dir: Path) -> AnalysisResult:
        time.sleep(self.config.seconds)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        true = [p.true.value for p in inputs.predictions]
        predicted = [p.predicted.value for p in inputs.predictions]
        figure, axes = plt.subplots(figsize=(4, 4))
        axes.scatter(true, predicted)
        axes.set_xlabel("true Λ")
        axes.set_ylabel("predicted Λ")
        figure.savefig(output_dir / "parity.png")
        plt.close(figure)
        with open(output_dir / "parity.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["true", "predicted"])
            writer.writerows(zip(true, predicted))
        return AnalysisResult(title="Summary", paper_figure="Fig. 2", figures=["parity.png"],
                              tables=["parity.csv"], numbers={"n_systems": len(true)})


class NeedsEngine(DescriptorPlugin):
    name = "needs-engine"
    version = "1.0"
    requires = ("localcond_no_such_engine",)
    install_hint = "pip install localcond-no-such-engine"
    description = "a plugin whose optional engine is missing (test plugin)"
