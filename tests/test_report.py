"""The report as a reader sees it: numbers as tables, each figure once (with links to its formats)."""

from __future__ import annotations

from html.parser import HTMLParser

from core.analysis.report import _figures_by_stem, numbers_html


def test_scalar_numbers_are_a_quantity_value_table():
    text = numbers_html({"pearson_r": -0.2298, "n_systems": 9})
    assert "<table>" in text and "<pre>" not in text
    assert "<td>pearson_r</td><td>-0.2298</td>" in text and "<td>n_systems</td><td>9</td>" in text


def test_numbers_per_system_are_one_row_per_system():
    text = numbers_html({"sys-a": {"n_near": 24, "bimodality": 0.49}, "sys-b": {"n_near": 67, "bimodality": 0.3}})
    assert text.count("<tr>") == 3 and "<th>n_near</th>" in text and "<td>sys-b</td><td>67</td>" in text
    assert "<pre>" not in text


class _Tables(HTMLParser):
    """What a reader's browser builds from the HTML: headings and the rows of cells of every table."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.rows: list[list[str]] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "h4"):
            self._text = []

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._text is not None:
            self.rows[-1].append("".join(self._text))
        elif tag == "h4" and self._text is not None:
            self.headings.append("".join(self._text))
        if tag in ("td", "th", "h4"):
            self._text = None


def test_a_nested_mapping_reads_back_from_the_parsed_tables():
    """Every number of a three-level mapping can be read back from the tables a parser finds, under its key."""
    numbers = {"measured_agreement": {"chi2_per_dof": 1.67, "n_bins": 323,
                                      "per_system_and_kind": {"a like": {"chi2_per_dof": 1.02, "n_bins": 17},
                                                              "b unlike": {"chi2_per_dof": 0.5, "n_bins": 4}}},
               "r": 0.5}
    parsed = _Tables()
    parsed.feed(numbers_html(numbers))
    cells = {tuple(row) for row in parsed.rows}
    assert ("r", "0.5") in cells and ("chi2_per_dof", "1.67") in cells and ("n_bins", "323") in cells
    header = next(row for row in parsed.rows if "n_bins" in row and "chi2_per_dof" in row and len(row) == 3)
    for system, values in numbers["measured_agreement"]["per_system_and_kind"].items():
        row = next(r for r in parsed.rows if r and r[0] == system)
        assert {name: float(row[header.index(name)]) for name in values} == values
    assert "per system and kind" in parsed.headings


def test_deeper_structures_are_tables_under_their_own_heading_never_json():
    text = numbers_html({"measured_agreement": {"chi2_per_dof": 1.67, "n_bins": 323,
                                                "per_system_and_kind": {"a like": {"chi2_per_dof": 1.02, "n_bins": 17}}},
                         "curves": {"a": [1, 2]}, "r": 0.5})
    assert "<pre>" not in text and "{" not in text and "<td>r</td>" in text
    assert "<h4>measured agreement</h4>" in text and "<td>chi2_per_dof</td><td>1.67</td>" in text
    assert "<h4>per system and kind</h4>" in text and "<td>a like</td><td>1.02</td><td>17</td>" in text
    assert "<td>curves</td><td>1, 2</td>" in text       # a list is comma-separated values


def test_a_number_that_could_not_be_computed_is_a_dash_with_its_reason():
    reasons = {"near_*": "fewer than 20 near ions", "spearman_at_c=*": "fewer than 3 systems at this c"}
    text = numbers_html({"sys-a": {"near_z": float("nan"), "far_z": 0.5}, "sys-b": {"near_z": 1.0, "far_z": None},
                         "spearman_at_c=0.01": float("nan"), "n": 3}, reasons)
    assert "nan" not in text.lower() and "None" not in text
    assert "<td>sys-a</td><td>—</td><td>0.5</td>" in text and "<td>sys-b</td><td>1</td><td>—</td>" in text
    assert "— in near_z: fewer than 20 near ions" in text
    assert "— in far_z: not computable from the data of this run (the analysis recorded no reason)" in text
    assert "— in spearman_at_c=0.01: fewer than 3 systems at this c" in text   # a scalar: named by its quantity


def test_a_png_and_an_svg_of_one_figure_are_shown_once():
    assert _figures_by_stem(["parity.png", "parity.svg", "other.png"]) == {
        "parity": ["parity.png", "parity.svg"], "other": ["other.png"]}


def test_provenance_names_the_commit_of_the_source_tree():
    """The report's provenance gives the checkout's commit (and says so where tracked files differ from it)."""
    import subprocess

    from core.storage.provenance import SOURCE, source_commit

    source_commit.cache_clear()  # an earlier test's report may have asked before the tree changed
    head = subprocess.run(["git", "-C", str(SOURCE), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        assert source_commit().startswith("unknown")
        return
    dirty = subprocess.run(["git", "-C", str(SOURCE), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    assert source_commit() == head.stdout.strip() + (" + uncommitted changes" if dirty else "")


def test_the_report_flags_labels_whose_bias_may_exceed_their_error() -> None:
    from core.analysis.report import _label_bias_note

    from core.testing import transport_of

    rows = [transport_of(name, label_status=status) for name, status in (
        ("a", "converged"), ("b", "bias may exceed error"), ("c", "bias within error"),
        ("slow", "relaxation not resolved"))]
    note = _label_bias_note(rows)
    assert "1 of 4 labels: the straight-line window may still be biased" in note and ": b." in note
    assert "1 of 4 labels: the charge MSD relaxes more slowly" in note and ": slow." in note
    assert note.count('class="bad"') == 2
    assert _label_bias_note(rows[:1] + rows[2:3]) == ""
