"""Tests for custseg.engines.spark: sessions and their errors, SQL translation, transaction features.

The feature tests check the Spark engine against the DuckDB engine and the hand-computed
values of ``test_transactions`` (``HAND_LINES``, ``EXPECTED``, ...), so that one set of
expected values serves both engines. They share one local session (``spark`` in conftest)
and are skipped only when PySpark is not installed.
"""

from __future__ import annotations

import datetime
import gzip
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from test_transactions import AS_OF, HAND_LINES, HAND_LOG, HEADER, _check_hand, _hand_frame

from custseg.errors import EngineError, InputError, SettingsError
from custseg.engines.spark.session import find_java, quiet_pyspark, spark_session
from custseg.valuing.stored import STORED_COLUMNS
from custseg.settings import parse_master
from custseg.logs.columns import detect_transaction_columns
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.logs.rules import FEATURE_COLUMNS, customer_queries, lines_query

# --------------------------------------------------------------------------- no JVM needed


def test_importing_custseg_spark_does_not_import_pyspark():
    code = ("import sys, custseg, custseg.engines.spark, custseg.engines.spark.session, custseg.engines.spark.sql; "
            "assert 'pyspark' not in sys.modules and 'sqlglot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("master, kind, hosts", [
    ("local[*]", "local", []),
    ("local[2]", "local", []),
    ("local", "local", []),
    ("spark://h1:7077,h2:7078", "standalone", [("h1", 7077), ("h2", 7078)]),
    ("spark://h1", "standalone", [("h1", 7077)]),
    ("sc://host", "connect", [("host", 15002)]),
    ("sc://host:443/;use_ssl=true", "connect", [("host", 443)]),
    ("yarn", "other", []),
])
def test_master_urls(master, kind, hosts):
    assert parse_master(master) == (kind, hosts)


@pytest.mark.parametrize("master", ["local[0]", "local[two]", "spark://", "sc://", "mesos://h:5050", "h:7077"])
def test_bad_master_url(master):
    with pytest.raises(SettingsError, match=r"^Spark master '.*' is not one of: local\[\*\], local\[N\]"):
        parse_master(master)


@pytest.mark.parametrize("master, what", [
    ("spark://127.0.0.1:9", "Spark master spark://127.0.0.1:9"),
    ("sc://127.0.0.1:9", "Spark Connect server sc://127.0.0.1:9"),
])
def test_master_that_does_not_answer(master, what):
    pytest.importorskip("pyspark")
    with pytest.raises(EngineError, match=rf"^the {what} does not answer within 0.5 s$"):
        spark_session(master, timeout=0.5)


def test_pyspark_not_installed(monkeypatch):
    for name in [n for n in sys.modules if n == "pyspark" or n.startswith("pyspark.")] + ["pyspark"]:
        monkeypatch.setitem(sys.modules, name, None)        # as if it were not installed
    with pytest.raises(EngineError, match=r'^the Spark engine needs PySpark, which is not installed: '
                                          r'install the Spark engine with: pip install "custseg\[spark\]"$'):
        spark_session("local[2]")


def _fake_java(folder, version_line: str):
    """A JAVA_HOME whose bin/java prints ``version_line`` as ``java -version`` does."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)
    return folder


def test_java_too_old_or_missing(monkeypatch, tmp_path):
    from custseg.engines.spark import session

    session.java_version.cache_clear()
    old = _fake_java(tmp_path / "jdk8", 'openjdk version "1.8.0_392"')
    monkeypatch.setenv("JAVA_HOME", str(old))
    with pytest.raises(EngineError, match=r"^Spark 4 needs Java 17 or later; JAVA_HOME \(.*jdk8\) is Java 8: "):
        find_java()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(EngineError, match=r"^JAVA_HOME is .*nowhere, which holds no working bin/java"):
        find_java()
    new = _fake_java(tmp_path / "jdk21", 'openjdk version "21.0.4" 2024-07-16')
    monkeypatch.setenv("JAVA_HOME", str(new))
    assert find_java() == (str(new / "bin" / "java"), 21)
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(old / "bin"))
    monkeypatch.setattr(session, "_JAVA_PLACES", ())
    with pytest.raises(EngineError, match=r"^Spark 4 needs Java 17 or later; the java on the PATH .* is Java 8"):
        find_java()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineError, match=r"^Spark needs Java 17 or later and no Java was found"):
        find_java()
    session.java_version.cache_clear()


def test_feature_sql_runs_on_spark_as_written():
    pytest.importorskip("sqlglot")
    from custseg.engines.spark.sql import to_spark

    # SQLGlot's translation plus two transforms: TRY_STRPTIME and CTEs inlined as subqueries.
    assert to_spark("SELECT TRY_STRPTIME(v, '%d/%m/%Y %H:%M') FROM t") == \
        "SELECT TRY_TO_TIMESTAMP(v, 'd/M/yyyy H:m') FROM t"
    assert to_spark("WITH a AS (SELECT 1 AS x), b AS (SELECT * FROM a) SELECT t.x FROM b AS t") == \
        "SELECT t.x FROM (SELECT * FROM (SELECT 1 AS x) AS a) AS t"
    names = HEADER.split(",")
    columns = detect_transaction_columns(names)
    features = to_spark(customer_queries(columns, AS_OF)["features"])
    assert "WITH" not in features and "FROM lines" in features
    assert "TRIM(' \u00a0" in to_spark(lines_query(columns, names))   # the Unicode spaces, named


# --------------------------------------------------------------------------- features on Spark


def _on_spark(spark, source, **kwargs):
    from custseg.engines.spark.transactions import customers_from_transactions_spark, sample_customers

    found = customers_from_transactions_spark(spark, source, **kwargs)
    customers = found.customers
    assert customers.is_cached
    found.customers = sample_customers(found)       # all of them: fewer than 10,000
    customers.unpersist()
    return found


def test_hand_log_compressed_latin1_csv(spark, tmp_path):
    text = HAND_LOG.replace(",", ";").replace("ITEM ONE", "CAFÉ CRÈME")
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(text.encode("latin-1")))
    found = _on_spark(spark, path, as_of="2024-03-11")
    _check_hand(found)
    assert found.date_format == "%Y-%m-%d %H:%M:%S"
    assert found.to_dict()["customers_kept"] == 3


def test_hand_log_as_csv_glob_parquet_glob_and_uri(spark, tmp_path):
    daily = tmp_path / "daily"
    daily.mkdir()
    by_month: dict[str, list[str]] = {}
    for line in HAND_LINES:
        by_month.setdefault(line.split(",")[4][:7], []).append(line)
    for month, lines in by_month.items():
        (daily / f"{month}.csv").write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    assert len(list(daily.iterdir())) == 5
    _check_hand(_on_spark(spark, str(daily / "*.csv"), as_of=AS_OF))
    # Parquet with typed columns: ids as floats with NaN (101.0 is "101"), dates as timestamps.
    frame = _hand_frame()
    (tmp_path / "parts").mkdir()
    frame.iloc[:10].to_parquet(tmp_path / "parts" / "a.parquet", index=False)
    frame.iloc[10:].to_parquet(tmp_path / "parts" / "b.parquet", index=False)
    found = _on_spark(spark, str(tmp_path / "parts" / "*.parquet"), as_of=AS_OF)
    _check_hand(found)
    assert found.date_format is None
    # A URI is read by Spark alone, as s3a://... would be (the header through Spark too).
    _check_hand(_on_spark(spark, (daily / "2024-03.csv").as_uri().replace("2024-03", "*"), as_of=AS_OF))


def test_date_format_decided_by_the_whole_column_on_spark(spark, tmp_path):
    # As tests/test_transactions.py, with numbers unpadded: the first 20,000 lines fit both
    # day-first and month-first; only the last one decides, in both engines.
    rows = [f"{i},c{i % 7},1/2/2024 9:05,1,2.5" for i in range(20_000)] + ["20000,c1,25/2/2024 9:05,1,2.5"]
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,order_date,quantity,price\n" + "\n".join(rows) + "\n")
    local = customers_from_transactions(path)
    found = _on_spark(spark, path)
    assert found.date_format == local.date_format == "%d/%m/%Y %H:%M"
    assert found.as_of == local.as_of == datetime.date(2024, 2, 26)
    pd.testing.assert_frame_equal(found.customers, local.customers, check_exact=True)


def test_reference_date_without_as_of_is_the_local_engines(spark, tmp_path):
    # Without --as-of each partition starts from its own last usable day (2024-03-11 for 101's,
    # 2024-04-02 for 105's); the log's last line has no customer id: the reference date is the
    # day after the last usable line, 2024-04-02, in both engines, and the features agree.
    path = tmp_path / "orders.csv"
    path.write_text(HAND_LOG + "7001,P1,ITEM ONE,1,2024-05-01 10:00:00,5.00,,United Kingdom\n")
    local = customers_from_transactions(path)
    found = _on_spark(spark, path)
    assert found.as_of == local.as_of == datetime.date(2024, 4, 2)
    pd.testing.assert_frame_equal(found.customers, local.customers, check_exact=True)
    assert (found.ledger.rows_dropped, found.checks) == (local.ledger.rows_dropped, local.checks)


def test_input_spark_cannot_read(spark, tmp_path):
    from custseg.engines.spark.transactions import customers_from_transactions_spark

    # Cut short after the part that custseg reads to find the header: Spark finds out.
    path = tmp_path / "orders.csv.gz"
    lines = [f"{i},P{i % 97},ITEM,1,2024-03-01 10:00:00,{i % 13}.{i % 7}5,{i % 501},France" for i in range(20_000)]
    whole = gzip.compress((HEADER + "\n" + "\n".join(lines) + "\n").encode(), mtime=0)
    path.write_bytes(whole[: len(whole) * 3 // 4])
    with pytest.raises(InputError, match=r"^.*orders.csv.gz could not be read on Spark: EOFException: Unexpected end of input stream$"):
        customers_from_transactions_spark(spark, path)
    with pytest.raises(InputError, match=r"^file:.*missing.parquet could not be read on Spark: .*PATH_NOT_FOUND"):
        customers_from_transactions_spark(spark, (tmp_path / "missing.parquet").as_uri())


def test_values_that_do_not_parse_on_spark(spark, tmp_path):
    path = tmp_path / "bad_quantity.csv"
    path.write_text(HEADER + "\n" + "\n".join(HAND_LINES[:5]) + "\n1005,P1,X,two,2024-03-01 10:00:00,5.00,101,UK\n")
    from custseg.engines.spark.transactions import customers_from_transactions_spark

    with pytest.raises(InputError) as local:
        customers_from_transactions(path)
    with pytest.raises(InputError) as on_spark:
        customers_from_transactions_spark(spark, path)
    assert str(on_spark.value) == str(local.value)
    assert "quantity column 'Quantity' is not numeric: 1 of 6 values do not parse as numbers, e.g. 'two'" in str(local.value)
    # The same from a Spark DataFrame of text columns.
    with pytest.raises(InputError, match=r"^the Spark DataFrame: quantity column 'Quantity' is not numeric: 1 of 6 "):
        customers_from_transactions_spark(spark, spark.read.csv(str(path), header=True))


_RETAIL: dict = {}


def _retail(spark):
    """Online Retail by both engines (computed once): DuckDB's result, Spark's, its table."""
    path = SHARED_DATA / "online_retail.csv.gz"
    if not path.is_file():
        pytest.skip(f"real data not found at {path}")
    if not _RETAIL:
        from custseg.engines.spark.transactions import customers_from_transactions_spark

        _RETAIL["duckdb"] = customers_from_transactions(path)
        _RETAIL["spark"] = customers_from_transactions_spark(spark, path)
    return _RETAIL["duckdb"], _RETAIL["spark"]


def test_online_retail_equals_duckdb(spark):
    from custseg.engines.spark.transactions import sample_customers

    local, found = _retail(spark)
    assert found.ledger.to_dict() == local.ledger.to_dict()
    assert found.ledger.rows_used == 401_564
    assert found.checks == local.checks
    assert found.customers_found == local.customers_found == 4_372
    assert found.customers_dropped == local.customers_dropped
    assert found.customers_kept == len(local.customers) == 4_317
    assert found.as_of == local.as_of == datetime.date(2011, 12, 10)
    assert found.date_format == local.date_format
    assert found.columns == local.columns
    assert found.customers.columns == list(local.customers.columns)
    table = sample_customers(found, size=5_000)
    ours = table.set_index("CustomerID")
    theirs = local.customers.set_index("CustomerID")
    joined = theirs.merge(ours, how="outer", left_index=True, right_index=True, suffixes=("_duckdb", "_spark"))
    assert len(joined) == 4_317 and not joined.isna().all(axis=1).any()
    for name in FEATURE_COLUMNS:
        a, b = joined[f"{name}_duckdb"], joined[f"{name}_spark"]
        same = (a == b) | (a.isna() & b.isna())
        assert same.all(), f"{name}: {int((~same).sum())} customers differ, e.g. {joined.index[~same][0]}"
    assert (joined["Country_duckdb"] == joined["Country_spark"]).all()
    assert np.abs(joined["monetary_duckdb"] - joined["monetary_spark"]).max() == 0.0
    # The same table, in the same order, with the same dtypes, as the local engine's.
    pd.testing.assert_frame_equal(table, local.customers, check_exact=True)


def test_only_a_bounded_seeded_sample_reaches_the_driver(spark):
    from pyspark.sql import DataFrame

    from custseg.engines.spark.transactions import sample_customers

    local, found = _retail(spark)
    assert isinstance(found.customers, DataFrame)
    first = sample_customers(found, size=300, random_state=7)
    again = sample_customers(found, size=300, random_state=7)
    other = sample_customers(found, size=300, random_state=8)
    assert len(first) == 300
    pd.testing.assert_frame_equal(first, again)
    assert set(first["CustomerID"]) != set(other["CustomerID"])
    everyone = local.customers.set_index("CustomerID")
    pd.testing.assert_frame_equal(first.set_index("CustomerID"), everyone.loc[first["CustomerID"]])
    assert list(first["CustomerID"]) == sorted(first["CustomerID"], key=int)


def test_spark_session_reuses_the_running_session(spark):
    assert spark_session("local[2]") is spark
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert os.environ.get("JAVA_HOME") is None or os.path.isdir(os.environ["JAVA_HOME"])


# --------------------------------------------------------------------------- the whole run on Spark


def _read_parquet(spark, path: str) -> pd.DataFrame:
    with quiet_pyspark():
        return spark.read.parquet(path).toPandas()


def _same_summary(local: dict, spark: dict) -> None:
    """Equal but for where the data came from and which engine the settings named."""
    assert spark["source"]["engine"] == "spark"
    assert set(spark["settings_given"]) - set(local["settings_given"]) <= {"engine", "spark_master"}
    # The local reader reports the header it decided on; Spark's reader takes one as given.
    local["settings_derived"].pop("header", None)
    for summary in (local, spark):
        for key in ("environment", "source", "settings", "settings_given"):
            summary.pop(key)
    assert spark == local


def test_run_on_spark_equals_the_local_run(spark, capsys, tmp_path):
    """`custseg run LOG --engine spark`: the order lines on Spark, the same segments, model,
    features and summary as the local engine, byte for byte, plus segments.parquet."""
    import json

    from test_cli import cli

    path = SHARED_DATA / "online_retail.csv.gz"
    if not path.is_file():
        pytest.skip(f"real data not found at {path}")
    # The customer value on Spark: fitted on the driver, scored on the executors, the same numbers.
    options = ["--algorithms", "kmeans,gmm", "--k", "2..6", "--no-report"]
    code, _, err = cli(capsys, "run", path, "--out", tmp_path / "local", *options)
    assert code == 0, err
    code, out, err = cli(capsys, "run", path, "--out", tmp_path / "spark", *options,
                         "--engine", "spark", "--spark-master", "local[2]")
    assert code == 0, err
    assert "customer rows: 4,317 read, 4,317 used" in out
    for name in ("segments.csv", "model.json", "features.csv"):
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    summaries = [json.loads((tmp_path / side / "summary.json").read_text()) for side in ("local", "spark")]
    assert summaries[1]["source"]["spark_master"] == "local[2]"
    # The holdout check too, from Spark's counts of the purchase days: the same numbers.
    assert summaries[1]["value"]["holdout"]["holdout_days"] > 0
    _same_summary(*summaries)
    parquet = _read_parquet(spark, str(tmp_path / "spark" / "segments.parquet"))
    segments = pd.read_csv(tmp_path / "local" / "segments.csv", dtype={"CustomerID": str, "rfm_score": str})
    assert list(parquet.columns) == list(segments.columns)
    assert {"p_alive", "expected_purchases", "clv", "year_spend"} <= set(segments.columns)
    value = summaries[1]["value"]
    assert value["customers"] == 4_317 and value["fit"]["customers"] == 4_317 and value["ok"]
    assert value["matrix"]["customers"] and sum(map(sum, value["matrix"]["customers"])) == 4_317
    pd.testing.assert_frame_equal(parquet.sort_values("CustomerID").reset_index(drop=True),
                                  segments.sort_values("CustomerID").reset_index(drop=True), check_dtype=False)
    assert not [p.name for p in (tmp_path / "spark").iterdir() if p.name.startswith(".")]


def test_segment_a_spark_dataframe_of_customers(spark, mall):
    from custseg import segment

    local_frame = pd.read_csv(mall, dtype=str)
    with quiet_pyspark():
        frame = spark.createDataFrame(local_frame)
    options = {"algorithms": ("kmeans", "hierarchical"), "k_max": 6}
    ours = segment(frame, **options)
    theirs = segment(mall, **options)
    assert ours.source["format"] == "spark" and ours.source["engine"] == "spark"
    assert ours.table.ledger.to_dict() == theirs.table.ledger.to_dict()
    np.testing.assert_array_equal(ours.labels, theirs.labels)
    pd.testing.assert_frame_equal(ours.segments, theirs.segments)
    assert ours.model.to_dict() == theirs.model.to_dict()
    with pytest.raises(SettingsError, match=r"^a Spark DataFrame needs the Spark engine: engine='spark' or 'auto'$"):
        segment(frame, engine="local")


def test_what_the_spark_engine_refuses(spark, mall, tmp_path):
    from custseg import segment

    with pytest.raises(SettingsError, match=r"^--missing drop is not available on the Spark engine yet; "):
        segment(mall, engine="spark", missing="drop")
    rows = pd.read_csv(mall).drop(columns="CustomerID")
    rows.to_csv(tmp_path / "no_id.csv", index=False)
    with pytest.raises(InputError, match=r"no_id.csv: 200 rows and no customer id column; the Spark engine needs "
                                         r"one to put more than fit_sample = 150 customers into segments \(give --id\)$"):
        segment(str(tmp_path / "no_id.csv"), engine="spark", fit_sample=150, algorithms=("kmeans",), k_max=3)


def test_engine_errors_exit_1_and_bad_engine_exits_2(capsys, mall, tmp_path):
    from test_cli import cli, one_line_error

    code, _, err = cli(capsys, "run", mall, "--out", tmp_path, "--engine", "spark",
                       "--spark-master", "spark://127.0.0.1:9")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err
    assert lines[0] == "error: the Spark master spark://127.0.0.1:9 does not answer within 10 s"
    message = one_line_error(capsys, "run", mall, "--out", tmp_path, "--engine", "dask")
    assert message == "error: --engine must be one of auto, local, spark, got 'dask'"
    message = one_line_error(capsys, "run", mall, "--out", tmp_path, "--engine", "spark", "--spark-master", "mesos://x")
    assert message.startswith("error: Spark master 'mesos://x' is not one of: local[*]")


def test_more_customers_than_the_driver_takes_a_log(spark, tmp_path):
    """Beyond fit_sample customers the run is fitted on a seeded sample and every customer is
    put into a segment on Spark: the same segments as the model file assigns on one machine,
    the same RFM scores as the local engine, and sizes and ledger that count everyone."""
    import json

    from custseg import generate_transactions, segment, track
    from custseg.model import load_model
    from custseg.logs.rfm import rfm_scores

    lines, _ = generate_transactions(900, 3, random_state=5)
    path = tmp_path / "orders.parquet"
    lines.to_parquet(path)
    result = segment(str(path), engine="spark", fit_sample=400, algorithms=("kmeans",), k_max=5)
    local = customers_from_transactions(path)
    everyone = len(local.customers)
    assert everyone > 400 and len(result.labels) == 400
    assert result.table.ledger.rows_read == result.table.ledger.rows_used == everyone
    paths = result.write(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "features.parquet", "model.json", "report.html", "segments.parquet", "summary.json"]
    segments = _read_parquet(spark, str(paths["segments_parquet"])).sort_values("CustomerID")
    assert list(segments.columns) == ["CustomerID", "segment", "segment_name", "rfm_score", "rfm_segment",
                                      "p_alive", "expected_purchases", "expected_value_per_purchase", "clv",
                                      "year_spend"]
    ids, labels, usable = load_model(paths["model"]).assign(local.customers)
    assert usable.all() and segments["CustomerID"].tolist() == ids.astype(str).tolist()
    np.testing.assert_array_equal(segments["segment"].to_numpy(), labels)
    rfm = rfm_scores(local.customers)
    assert segments["rfm_score"].tolist() == rfm["rfm_score"].tolist()
    assert segments["rfm_segment"].tolist() == rfm["rfm_segment"].tolist()
    summary = json.loads(paths["summary"].read_text())
    assert {s["id"]: s["size"] for s in summary["segments"]} == segments["segment"].value_counts().to_dict()
    assert all(s["description"].startswith(f"{s['size']:,} customers ({s['share']:.1%}).") for s in summary["segments"])
    assert {s["name"]: s["size"] for s in summary["rfm"]["segments"]} == rfm["rfm_segment"].value_counts().to_dict()
    assert summary["sampling"]["driver"] == {"used": True, "customers": everyone, "sample_size": 400, "threshold": 400}
    assert summary["input"]["cells_counted_on"] == 400
    html = paths["report"].read_text()
    assert f"On Spark, {everyone:,} customers: the segments were fitted" in html
    assert 'data-test="cells-counted-on">Cells fixed, values beyond the fences and codes read as missing' in html
    features = spark.read.parquet(str(paths["features_parquet"])).count()
    assert features == everyone
    assert 'data-test="engine">Spark (local[2])' in html
    assert summary["value"]["customers"] == everyone
    _every_customer_valued(local, segments, result.value.summary(result.labels))     # before JSON's rounding
    result.population.release()
    assert not result.population.segments.is_cached and not result.population.frame.is_cached
    assert not result.population.history.is_cached
    # custseg track finds the Spark run's segments.parquet/ beside model.json
    tracked = track(paths["model"], str(path))
    assert tracked.customers["in_both"] == tracked.customers["kept"] == everyone


def _every_customer_valued(local, segments: pd.DataFrame, value: dict) -> None:
    """The value of every customer on Spark (fitted on the driver, scored on the executors) is
    the local step's on the whole log: the same fits, scores and, summed by Spark, summary."""
    from custseg.valuing.customer_value import CustomerValue, history_from_features, value_customers
    from custseg.valuing.holdout import holdout_check

    histories = history_from_features(local.customers, local.history)
    expected = value_customers(histories)
    assert value["fit"] == expected.fit.to_dict() and value["spend"] == expected.spend.to_dict()
    assert segments["CustomerID"].tolist() == local.customers["CustomerID"].tolist()
    for name in expected.scores.columns:
        np.testing.assert_allclose(segments[name].to_numpy(), expected.scores[name].to_numpy(), rtol=1e-9, atol=0)
    known = pd.DataFrame({"id": local.customers["CustomerID"], **{c: histories[c] for c in ("x", "t_x", "T")},
                          "year_spend": local.history["year_spend"]})
    # The holdout check counts every customer on Spark too: the local check of the whole log.
    options = expected.options
    holdout = holdout_check(local.purchases, local.as_of, option=options.holdout, length=options.holdout_days,
                            model=options.model)
    assert "skipped" not in holdout
    whole = CustomerValue(expected.scores, expected.fit, expected.spend, expected.options, known,
                          holdout=holdout).summary(segments["segment"].to_numpy())
    assert value["customers"] == len(local.customers) and value["top_at_risk"] == whole["top_at_risk"]
    assert value["matrix"] == whole["matrix"]
    _assert_close(value, whole)


def _assert_close(found, expected, where: str = "value") -> None:
    """Equal, floats to 1e-9 relative (Spark sums in another order), through dicts and lists."""
    if isinstance(expected, dict):
        assert sorted(found) == sorted(expected), where
        for key in expected:
            _assert_close(found[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(found) == len(expected), where
        for i, (a, b) in enumerate(zip(found, expected)):
            _assert_close(a, b, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert found == pytest.approx(expected, rel=1e-9, nan_ok=True), where
    else:
        assert found == expected, where


def test_more_customers_than_the_driver_takes_a_table(spark, mall, tmp_path):
    """A customer table beyond fit_sample: rows without an id, repeated ids and rows with no
    usable value are counted in the ledger as the local engine counts them."""
    from custseg import segment
    from custseg.model import load_model

    table = pd.read_csv(mall, dtype=str)
    extra = pd.concat([table.iloc[[3]], table.iloc[[4]].assign(CustomerID=None),
                       table.iloc[[5]].assign(**{"CustomerID": "9999", "Age": None, "Annual Income (k$)": None,
                                                 "Spending Score (1-100)": None, "Gender": None})])
    path = tmp_path / "customers.csv"
    pd.concat([table, extra]).to_csv(path, index=False)
    result = segment(str(path), engine="spark", fit_sample=120, algorithms=("kmeans",), k_max=4)
    local = segment(str(path), algorithms=("kmeans",), k_max=4)
    assert result.table.ledger.rows_read == local.table.ledger.rows_read == 203
    assert result.table.ledger.rows_dropped == local.table.ledger.rows_dropped == {
        "missing id": 1, "duplicate id": 1, "no usable feature value": 1}
    paths = result.write(tmp_path / "out", report=False)
    segments = _read_parquet(spark, str(paths["segments_parquet"])).sort_values("CustomerID")
    ids, labels, usable = load_model(paths["model"]).assign(table)
    expected = pd.Series(labels, index=ids).sort_index()
    assert segments["CustomerID"].tolist() == expected.index.tolist()
    np.testing.assert_array_equal(segments["segment"].to_numpy(), expected.to_numpy())
    assert sum(s["size"] for s in result.segment_info) == 200


def test_assign_on_spark_with_a_model_from_either_engine(spark, capsys, mall, tmp_path):
    """`custseg assign --engine spark` gives what `custseg assign` gives on one machine, for a
    customer table and for a transaction log's model."""
    from test_cli import cli, one_line_error

    from custseg import generate_transactions
    from custseg.model import load_model

    code, _, err = cli(capsys, "run", mall, "--out", tmp_path / "run", "--algorithms", "kmeans", "--k", "2..4",
                       "--no-report")
    assert code == 0, err
    lines, _ = generate_transactions(300, 3, random_state=2)
    log = tmp_path / "orders.csv"
    lines.to_csv(log, index=False)
    code, _, err = cli(capsys, "run", log, "--out", tmp_path / "log", "--algorithms", "kmeans", "--k", "2..4",
                       "--no-report", "--engine", "spark", "--spark-master", "local[2]")
    assert code == 0, err
    for model, data, key in ((tmp_path / "run" / "model.json", mall, "CustomerID"),
                             (tmp_path / "log" / "model.json", log, "CustomerID")):
        code, local_out, err = cli(capsys, "assign", model, data, "--out", tmp_path / "local.csv")
        assert code == 0, err
        code, out, err = cli(capsys, "assign", model, data, "--out", tmp_path / "spark.parquet", "--engine", "spark")
        assert code == 0, err
        expected = pd.read_csv(tmp_path / "local.csv", dtype={key: str})
        said = f"assigned {len(expected):,} of {len(expected):,} customers to {tmp_path / 'spark.parquet'}"
        if data == log:     # the log's value is scored on the executors too, with the same note
            assert set(STORED_COLUMNS) <= set(expected.columns)
            assert expected["p_alive"].notna().all() and expected["clv"].notna().all()
            note = " ".join(local_out.split()).split(f"{tmp_path / 'local.csv'} ", 1)[1]
            label = load_model(model).value.label          # this log's Gamma-Gamma does not fit: own means
            assert note.startswith(f"customer value scored with the model's {label} parameters as of ")
            said += " " + note
        assert " ".join(out.split()) == said
        found = _read_parquet(spark, str(tmp_path / "spark.parquet"))
        assert found.columns.tolist() == expected.columns.tolist()
        # the same formulas on the same floats: equal to the last digit (the CSV keeps every digit)
        pd.testing.assert_frame_equal(found.sort_values(key).reset_index(drop=True),
                                      expected.sort_values(key).reset_index(drop=True), check_dtype=False,
                                      check_exact=True)
    pd.read_csv(mall).drop(columns="Age").to_csv(tmp_path / "no_age.csv", index=False)
    message = one_line_error(capsys, "assign", tmp_path / "run" / "model.json", tmp_path / "no_age.csv",
                             "--engine", "spark")
    assert message == "error: the data lacks 1 column(s) the model needs: Age"


def test_auto_engine_picks_spark_only_for_spark_data():
    from custseg.engines import engine_for

    assert engine_for("orders.csv", "auto") == engine_for("file:///data/orders.csv", "auto") == "local"
    assert engine_for("s3a://lake/orders/", "auto") == engine_for("hdfs://nn/orders.parquet", "auto") == "spark"
    assert engine_for("s3a://lake/orders/", "local") == "local"
    assert engine_for("orders.csv", "spark") == "spark"


def test_parquet_folders_are_replaced_whole_or_not_at_all(tmp_path):
    from custseg.engines.spark.customers import _replace_folder

    target = tmp_path / "segments.parquet"
    target.mkdir()
    (target / "part-00000.parquet").write_text("old")

    def interrupted(folder):
        folder.mkdir()
        (folder / "part-00000.parquet").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _replace_folder(target, interrupted)
    assert [p.name for p in tmp_path.iterdir()] == ["segments.parquet"]
    assert (target / "part-00000.parquet").read_text() == "old"

    def complete(folder):
        folder.mkdir()
        (folder / "part-00000.parquet").write_text("new")

    assert _replace_folder(target, complete) == target
    assert [p.name for p in tmp_path.iterdir()] == ["segments.parquet"]
    assert (target / "part-00000.parquet").read_text() == "new"


def test_segmenter_on_the_spark_engine(spark, mall):
    from custseg import Segmenter

    options = {"algorithms": ("kmeans",), "k_max": 4}
    ours = Segmenter(engine="spark", **options).fit(str(mall))
    theirs = Segmenter(**options).fit(str(mall))
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.result_.source["engine"] == "spark"
    with pytest.raises(InputError, match=r"^200 customers are more than fit_sample = 150: on Spark their segments "
                                         r"stay on the cluster"):
        Segmenter(engine="spark", fit_sample=150, **options).fit(str(mall))


def test_a_log_told_by_its_shape_on_spark_equals_the_local_run(spark, tmp_path):
    """CDNOW's layout with names outside the name lists (``masterid,sampleid,date,cds,sales``,
    YYYYMMDD integers): the Spark engine tells the log by its shape as the local one does."""
    from test_log_shapes import _write_master_csv

    from custseg import segment

    path = _write_master_csv(tmp_path / "master.csv")
    options = {"algorithms": ("kmeans",), "k_max": 4, "stability_resamples": 2, "report": False}
    local = segment(str(path), **options).summary
    on_spark = segment(str(path), engine="spark", spark_master="local[2]", **options).summary
    assert on_spark["source"]["kind"] == "transactions"
    assert on_spark["source"]["log_by_shape"] == local["source"]["log_by_shape"]
    assert on_spark["transactions"]["columns"] == local["transactions"]["columns"]
    assert on_spark["transactions"]["customers_found"] == 40
    assert [s["size"] for s in on_spark["segments"]] == [s["size"] for s in local["segments"]]
