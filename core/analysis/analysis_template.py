"""The analysis template: the framework owns the loop over systems, the analysis says what one system gives.

After MDAnalysis' ``AnalysisBase``: a :class:`SystemAnalysis` declares which systems it visits
(:attr:`~SystemAnalysis.systems_from`, :attr:`~SystemAnalysis.system_needs`) and the table it writes
(:attr:`~SystemAnalysis.table`, :attr:`~SystemAnalysis.columns`), and implements

- :meth:`~SystemAnalysis.per_system`: one :class:`SystemView` (its typed prediction and transport joined by
  name, its local k, environments and measured shares loaded on demand) to the table's rows for it;
- :meth:`~SystemAnalysis.conclude`: all rows (and the run's inputs) to figures, numbers and notes.

Rows are frozen dataclasses (:func:`row_columns` gives a row type's columns, in field order) or, for
plugins written before them, dicts. The base joins the run's tables by system, honours a ``splits`` option
where the configuration has one, writes the CSV (columns in the declared order; a row with a column not
declared is an error), hands :meth:`~SystemAnalysis.conclude` the rows as ``per_system`` made them, and
checks that every file the result names was written. ``per_system`` needs no pipeline: a test builds a
:class:`SystemView` by hand.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from core.analysis.inputs import AnalysisInputs
from core.datatypes import AnalysisResult
from core.plugin_system.plugin_api import AnalysisPlugin
from core.results import Prediction, SystemTransport

#: What a visited system can be required to have.
SystemPart = Literal["prediction", "transport", "local", "features", "attribution", "trajectories"]
#: The part of :class:`AnalysisInputs` (an :attr:`AnalysisPlugin.needs` name) each system part comes from.
INPUT_OF_PART = {"prediction": "predictions", "transport": "transport", "local": "local_conductivities",
                 "features": "feature_stores", "attribution": "attributions", "trajectories": "trajectories"}


def row_columns(row_type: type) -> tuple[str, ...]:
    """The CSV columns of a dataclass row type: its field names, in order."""
    return tuple(field.name for field in dataclasses.fields(row_type))


def row_mapping(row: Any) -> dict[str, Any]:
    """A row (a dataclass instance, or a dict) as the mapping the CSV writer takes; values are not copied."""
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return {field.name: getattr(row, field.name) for field in dataclasses.fields(row)}
    return row


@dataclass(frozen=True)
class SystemView:
    """One system as an analysis sees it.

    name: the system's name; split: its prediction split (None without a prediction); prediction, transport:
    its :class:`core.results.Prediction` and :class:`core.results.SystemTransport` (None where the run has
    none); inputs: the whole run's :class:`AnalysisInputs`, for what the view does not wrap.
    """

    name: str
    split: str | None
    prediction: Prediction | None
    transport: SystemTransport | None
    inputs: AnalysisInputs

    def has(self, part: SystemPart) -> bool:
        """Whether the run has this part for the system."""
        inputs = self.inputs
        return {"prediction": self.prediction is not None, "transport": self.transport is not None,
                "local": self.name in inputs.local_conductivities, "features": self.name in inputs.feature_stores,
                "attribution": self.name in inputs.attributions,
                "trajectories": bool(inputs.trajectories.get(self.name))}[part]

    def local(self):
        """Its local conductivities (:class:`core.analysis.local_conductivity.LocalConductivity`), loaded once."""
        return self.inputs.local(self.name)

    def environments(self) -> dict:
        """Its per-environment columns (``nearest_unlike``, ``replica``, ...), loaded once."""
        return self.inputs.environments(self.name)

    def replicas(self) -> int:
        """How many replica trajectories the run has for the system (0 without trajectories)."""
        return len(self.inputs.trajectories.get(self.name, []))

    def frames(self, replica: int, indices: list[int] | None = None):
        """Frames of one replica (:meth:`AnalysisInputs.frames`), one at a time."""
        return self.inputs.frames(self.name, replica, indices)

    def replica_log(self, replica: int) -> dict[str, float | str]:
        """The ``localcond/*`` log values of one replica (:meth:`AnalysisInputs.replica_log`)."""
        return self.inputs.replica_log(self.name, replica)

    def measured_shares(self):
        """Learned k beside the measured shares over its environments (:class:`core.analysis.attribution_check.
        MeasuredShares`), or None without an attribution."""
        from core.analysis.attribution_check import measured_shares

        return measured_shares(self.inputs, self.name)


class SystemAnalysis(AnalysisPlugin):
    """An analysis written as :meth:`per_system` and :meth:`conclude` (see the module's docstring)."""

    #: The result's title and the paper's figure it reproduces.
    title: ClassVar[str] = ""
    paper_figure: ClassVar[str] = ""
    #: The CSV the base writes from :meth:`per_system`'s rows, and its columns in order.
    table: ClassVar[str] = ""
    columns: ClassVar[tuple[str, ...]] = ()
    #: Instead of one table, several: file name -> its columns in order. :meth:`per_system` then returns
    #: ``{file name: rows}`` (any of them may be left out) and :meth:`conclude` gets all rows by file name.
    tables: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Which systems are visited, in which order: those of ``predictions.csv`` or ``transport.csv`` in file
    #: order, or those with local conductivities in name order.
    systems_from: ClassVar[Literal["predictions", "transport", "local"]] = "predictions"
    #: What a visited system must have; the others are passed over.
    system_needs: ClassVar[frozenset[str]] = frozenset()
    #: Whether the base passes over systems whose split is not in the configuration's ``splits`` (an analysis
    #: that relabels splits, as parity does with outer-fold predictions, filters its own rows instead).
    filter_splits: ClassVar[bool] = True
    #: Why a number of its result may not be computable (name or shell-style pattern -> reason): the report
    #: shows such a value as "—" with the reason (:attr:`AnalysisResult.missing`).
    missing_reasons: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """``needs`` (what the run must have, or the analysis is skipped with a note) defaults to what every
        visited system needs."""
        super().__init_subclass__(**kwargs)
        if "needs" not in cls.__dict__:
            cls.needs = frozenset(INPUT_OF_PART[part] for part in cls.system_needs)

    def prepare(self, inputs: AnalysisInputs, result: AnalysisResult) -> None:
        """Before the loop: decisions about the whole run (notes go in ``result``). Nothing by default."""

    def per_system(self, view: SystemView) -> list[dict[str, Any]] | dict[str, Any] | None:
        """The table's rows for one system (a row, several, or None to leave it out, with :meth:`note`
        saying why where the reader should know); with :attr:`tables`, ``{file name: rows}``."""
        raise NotImplementedError

    def note(self, text: str) -> None:
        """A remark for the report from within :meth:`per_system` (e.g. why a system was left out)."""
        if not hasattr(self, "_notes"):
            self._notes: list[str] = []
        self._notes.append(text)

    def conclude(self, rows: list[dict[str, Any]] | dict[str, list[dict[str, Any]]], inputs: AnalysisInputs,
                 result: AnalysisResult, output_dir: Path) -> None:
        """Figures, numbers and notes from every system's rows (the tables are written already): a list, or
        with :attr:`tables` the rows of each table by file name."""

    def views(self, inputs: AnalysisInputs) -> Iterator[SystemView]:
        """The systems this analysis visits, as views, after :attr:`systems_from`, :attr:`system_needs` and the
        configuration's ``splits`` (where it has one and a system has a split)."""
        predictions = {p.system: p for p in inputs.predictions}
        transport = {t.system: t for t in inputs.transport}
        order = {"predictions": list(predictions), "transport": list(transport),
                 "local": sorted(inputs.local_conductivities)}[self.systems_from]
        splits = getattr(self.config, "splits", None) if self.filter_splits else None
        for name in order:
            prediction = predictions.get(name)
            view = SystemView(name, prediction.split if prediction else None, prediction, transport.get(name),
                              inputs)
            if not all(view.has(part) for part in self.system_needs):
                continue
            if splits is not None and view.split not in splits:
                continue
            yield view

    def run(self, inputs: AnalysisInputs, output_dir: Path) -> AnalysisResult:
        result = AnalysisResult(title=self.title, paper_figure=self.paper_figure, missing=dict(self.missing_reasons))
        self._notes = result.notes
        self.prepare(inputs, result)
        declared = self.tables or ({self.table: self.columns} if self.table else {})
        by_table: dict[str, list[dict[str, Any]]] = {name: [] for name in declared}
        rows: list[dict[str, Any]] = []
        for view in self.views(inputs):
            produced = self.per_system(view)
            if self.tables:
                for name, part in (produced or {}).items():
                    if name not in self.tables:
                        raise ValueError(f"{self.name}: per_system gave rows for {name!r}, which is not one of "
                                         f"its tables ({', '.join(self.tables)})")
                    by_table[name] += list(part)
            else:
                single = isinstance(produced, dict) or dataclasses.is_dataclass(produced)
                rows += [] if produced is None else [produced] if single else list(produced)
        if self.table and not self.tables:
            by_table[self.table] = rows
        for name, columns in declared.items():
            with open(Path(output_dir) / name, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="raise")
                writer.writeheader()
                writer.writerows(row_mapping(row) for row in by_table[name])
            result.tables.append(name)
        self.conclude(by_table if self.tables else rows, inputs, result, Path(output_dir))
        missing = [name for name in [*result.figures, *result.tables] if not (Path(output_dir) / name).is_file()]
        if missing:
            raise RuntimeError(f"{self.name}: the result names {missing}, which it did not write")
        return result
