"""Issue 18, item 6: a setting the user gave stays given, even when it equals the default, and
summary.json shows what was given and what the run derived, separately."""

from __future__ import annotations

import json

import pytest
from sklearn.base import clone

from custseg import Segmenter, generate_customers, segment
from custseg.errors import InputError, SettingsError
from custseg.reporting.context import _run_section
from custseg.segmenting.options import SearchOptions
from custseg.settings import Settings

from test_cli import cli, one_line_error

TOO_FEW = "8 usable customers (of 8 rows) are too few for up to k=10 segments; give --k with a maximum below 8"


@pytest.fixture
def eight(tmp_path):
    """A customer table of 8 customers (CSV)."""
    path = tmp_path / "eight.csv"
    generate_customers(8, 2, random_state=0)[0].to_csv(path, index=False)
    return path


@pytest.fixture
def twelve(tmp_path):
    path = tmp_path / "twelve.csv"
    generate_customers(12, 2, random_state=0)[0].to_csv(path, index=False)
    return path


def test_settings_record_what_was_given():
    assert Settings().given == frozenset()
    assert Settings(k_max=6).given == {"k_max"}
    # built directly, a value equal to the default cannot be told from the default ...
    assert Settings(k_max=10).given == frozenset() and Settings(k_max=10).k_range_is_default
    # ... unless said so; replace, from_dict and keyword overrides record the names given
    assert not Settings(k_max=10, given={"k_max"}).k_range_is_default
    assert Settings().replace(k_min=2, k_max=10).given == {"k_min", "k_max"}
    assert Settings.from_dict({"k_max": 10, "command": "custseg run x"}).given == {"k_max"}
    assert Settings().replace(command="custseg run x").given == frozenset()
    assert Settings().replace(k_max=10) == Settings()          # given takes no part in equality
    assert "given" not in Settings().replace(k_max=10).to_dict()
    with pytest.raises(SettingsError, match="given names unknown setting"):
        Settings(given={"clusters"})


def test_k_range_is_default_only_when_neither_end_was_given():
    assert Settings().replace(k_min=2).k_range_is_default is False
    assert SearchOptions.from_settings(Settings().replace(k_min=2, k_max=10)).k_range_is_default is False
    assert SearchOptions.from_settings(Settings().replace(random_state=3)).k_range_is_default is True


def test_segment_overrides_equal_to_the_default_are_the_users_range():
    customers, _ = generate_customers(8, 2, random_state=0)
    with pytest.raises(InputError, match=TOO_FEW.replace("(", r"\(").replace(")", r"\)")):
        segment(customers, algorithms=("kmeans",), k_min=2, k_max=10)
    assert segment(customers, algorithms=("kmeans",)).k_range == (2, 4)


def test_segmenter_compares_its_parameters_with_the_defaults():
    assert Segmenter(k_max=10).settings().given == frozenset()
    assert Segmenter(k_max=6, algorithms=["kmeans"]).settings().given == {"k_max", "algorithms"}
    assert clone(Segmenter(k_max=6)).settings().given == {"k_max"}
    assert clone(Segmenter()).settings().k_range_is_default


def test_explicit_k_range_on_eight_customers_is_refused(capsys, eight, tmp_path):
    message = one_line_error(capsys, "run", eight, "--out", tmp_path / "o", "--no-report",
                             "--algorithms", "kmeans", "--k", "2..10")
    assert TOO_FEW in message
    config = tmp_path / "custseg.toml"
    config.write_text("[custseg]\nk_max = 10\n")                  # a TOML file gives it too
    assert TOO_FEW in one_line_error(capsys, "run", eight, "--out", tmp_path / "o", "--no-report",
                                     "--algorithms", "kmeans", "--config", config)


def test_default_k_range_on_eight_customers_is_derived(capsys, eight, tmp_path):
    code, _, err = cli(capsys, "run", eight, "--out", tmp_path / "o", "--no-report", "--algorithms", "kmeans")
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["settings"]["k_max"] == 10
    assert summary["settings_given"] == ["algorithms", "report"]
    assert summary["settings_derived"] == {"k_min": 2, "k_max": 4, "kind": "customers", "id_col": "customer_id",
                                           "pca": "off", "header": "yes"}
    assert sorted(c["k"] for c in summary["candidates"]) == [2, 3, 4]
    assert ("k_max", "4 (derived from 10)") in _run_section(summary)["settings"]
    assert ("algorithms (given)", ["kmeans"]) in _run_section(summary)["settings"]


def test_explicit_k_range_on_twelve_customers_is_honoured(capsys, twelve, tmp_path):
    code, _, err = cli(capsys, "run", twelve, "--out", tmp_path / "o", "--no-report", "--algorithms", "kmeans",
                       "--k", "2..10")
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["settings"]["k_max"] == 10 and {"k_min", "k_max"} <= set(summary["settings_given"])
    assert "k_max" not in summary["settings_derived"] and "k_min" not in summary["settings_derived"]
    assert sorted(c["k"] for c in summary["candidates"]) == list(range(2, 11))
    model = json.loads((tmp_path / "o" / "model.json").read_text())
    assert model["reference"]["k_range"] == [2, 10]
    # the default range on the same table stops at half its customers
    code, _, err = cli(capsys, "run", twelve, "--out", tmp_path / "d", "--no-report", "--algorithms", "kmeans")
    assert code == 0, err
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert (summary["settings_derived"]["k_min"], summary["settings_derived"]["k_max"]) == (2, 6)


def test_report_shows_derived_values(eight, tmp_path):
    result = segment(str(eight), algorithms=("kmeans",))
    html = result.to_html(tmp_path / "report.html").read_text()
    assert "4 (derived from 10)" in html and "algorithms (given)" in html
