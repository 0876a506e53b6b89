"""The ``custseg`` command line: thin wrappers over the library, with progress and errors.

Heavy modules are imported inside the commands, so ``--help`` and usage errors are fast.
Library errors (`custseg.errors.CustsegError`) become one red line and exit code 2 (1 for
an `custseg.errors.EngineError`: PySpark, Java or the Spark cluster missing or not
answering); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .engines import engine_for
from .errors import CustsegError, EngineError

app = typer.Typer(
    name="custseg",
    help="Customer segmentation: clean, build features, cluster, choose k, profile, name, act, report.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out_console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        out_console.print(f"custseg {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback when something fails."),
) -> None:
    """custseg turns a customer table into named, explained segments and a report."""


@contextmanager
def _progress():
    """A Rich progress bar on stderr, fed by the library's ``on_progress`` callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("starting", total=1)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=max(total, 1))

        yield update


def _settings(config: Optional[Path], **options):
    from .settings import Settings

    base = Settings.from_toml(config) if config else Settings()
    given = {k: v for k, v in options.items() if v is not None}
    return base.replace(**given, command=" ".join(["custseg", *sys.argv[1:]]))


def _show_result(result, paths: dict) -> None:
    from .explaining.actions import by_value_at_risk
    from .preparing.clean import repeated_ids_text

    chosen = result.found.chosen
    table = Table(title=f"{len(result.segment_info)} segments, {chosen.label}", title_justify="left")
    for column in ("segment", "name", "customers", "share", "first action"):
        table.add_column(column, overflow="fold")
    values = None if result.value is None else result.summary["value"]["segments"]
    for item in by_value_at_risk(result.segment_info, values):   # a log's most value at risk first
        action = item["actions"][0]["action"] if item["actions"] else ""
        table.add_row(str(item["id"]), Text(item["name"]), f"{item['size']:,}", f"{item['share']:.1%}", Text(action))
    out_console.print(table)
    out_console.print(Text(result.found.reason))
    if result.transactions is not None:
        lines = result.transactions.ledger
        out_console.print(Text(f"order lines: {_ledger_text(lines)}"))
        dropped = result.transactions.customers_dropped
        detail = ", ".join(f"{n:,} {reason}" for reason, n in dropped.items())
        out_console.print(Text(f"customers: {result.transactions.customers_found:,} found"
                               + (f" ({detail} left out)" if detail else "")))
    out_console.print(Text(f"{'customer rows' if result.transactions is not None else 'rows'}: "
                           f"{_ledger_text(result.table.ledger)}"))
    holdout = _holdout_line(result.summary.get("value"))
    if holdout is not None:
        out_console.print(holdout)
    repeated = repeated_ids_text(result.table.ledger.to_dict())
    if repeated:
        out_console.print(Text(f"warning: {repeated}", style="bold yellow"))
    for warning in result.source.get("spark_warnings", []):       # lost executors, on a cluster
        out_console.print(Text(f"warning: {warning}", style="bold yellow"))
    for kind, path in paths.items():
        out_console.print(Text(f"{kind + ':':9} {path}"))


def _holdout_line(value: dict | None) -> Text | None:
    """The value model's holdout check in one line: its verdict (yellow when it does not
    fit) or why it was skipped; None without one."""
    check = (value or {}).get("holdout")
    if not check:
        return None
    if "skipped" in check:
        return Text(f"value model: no holdout check ({check['skipped']})")
    if check["fits"]:
        return Text(f"value model: {check['verdict']}")
    more = len(check["reasons"]) - 1
    return Text(f"value model: the model does not fit: {check['reasons'][0]}"
                + (f" (and {more} more reason{'s' if more > 1 else ''} in the report)" if more else ""),
                style="bold yellow")


def _ledger_text(ledger) -> str:
    dropped = ", ".join(f"{n:,} {reason}" for reason, n in ledger.rows_dropped.items()) or "none dropped"
    return f"{ledger.rows_read:,} read, {ledger.rows_used:,} used ({dropped})"


@app.command()
def run(
    data: str = typer.Argument(..., help="Customer table or order-line log: CSV/TSV/TXT (or compressed), Parquet, a glob, Excel (.xlsx), JSON or an archive; with --engine spark also a URI Spark reads (s3a://, hdfs://, ...)."),
    out: Path = typer.Option(Path("custseg-out"), "--out", "-o", help="Folder for segments.csv, summary.json, model.json and report.html."),
    id_col: Optional[str] = typer.Option(None, "--id", help="Customer id column (default: detected; rows are numbered when there is none)."),
    features: Optional[str] = typer.Option(None, "--features", help="Comma-separated columns to segment on (default: every usable numeric column)."),
    exclude: Optional[str] = typer.Option(None, "--exclude", help="Comma-separated columns never to use."),
    algorithms: Optional[str] = typer.Option(None, "--algorithms", help="Comma-separated: kmeans, hierarchical, gmm, hdbscan, dbscan (default: all but dbscan)."),
    k: Optional[str] = typer.Option(None, "--k", help="Range of numbers of segments, MIN..MAX (default 2..10)."),
    pca: Optional[str] = typer.Option(None, "--pca", help="auto (PCA only for more than 10 feature columns), off, or a number of components."),
    missing: Optional[str] = typer.Option(None, "--missing", help="impute (median / most frequent, default) or drop rows with missing feature values."),
    outliers: Optional[str] = typer.Option(None, "--outliers", help="clip (default), flag (keep and mark in segments.csv) or keep values beyond the robust fences."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (default 0): same input and seed give identical outputs."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file with settings ([custseg] table); options given here win."),
    kind: Optional[str] = typer.Option(None, "--kind", help="auto (default: decided from the columns), customers (one row per customer) or transactions (one row per order line)."),
    customer_col: Optional[str] = typer.Option(None, "--customer-col", help="Transaction log: customer id column (default: detected)."),
    invoice_col: Optional[str] = typer.Option(None, "--invoice-col", help="Transaction log: invoice/order column (default: detected)."),
    date_col: Optional[str] = typer.Option(None, "--date-col", help="Transaction log: date column (default: detected)."),
    quantity_col: Optional[str] = typer.Option(None, "--quantity-col", help="Transaction log: quantity column (default: detected)."),
    price_col: Optional[str] = typer.Option(None, "--price-col", help="Transaction log: unit price column (default: detected)."),
    amount_col: Optional[str] = typer.Option(None, "--amount-col", help="Transaction log: line amount column, for logs without a price (default: detected)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Reference date YYYY-MM-DD: for recency in a transaction log (default: the day after the last transaction), and for age and tenure_days from dates in a customer table (default: today)."),
    window: Optional[str] = typer.Option(None, "--window", help="Transaction log: compute frequency, monetary and the other count and money features over the trailing window before the as-of date only: days (365 or 365d), weeks (52w) or calendar months (12m); recency and tenure still cover the whole history. Saved in model.json: assign and track use the same window, so snapshots of a log compare like with like (default: the whole history)."),
    customers_file: Optional[Path] = typer.Option(None, "--customers", help="Transaction log: a customer table (demographics) joined on the customer id."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel: the sheet to read (default: every sheet whose header matches the first one, stacked, with a 'sheet' column)."),
    member: Optional[str] = typer.Option(None, "--member", help="Archive (.zip, .tar, .tar.gz, .tgz): the table to read inside it (default: the only one)."),
    header: Optional[str] = typer.Option(None, "--header", help="auto (default: detected from the rows below), yes or no: whether the first row holds the column names; without one columns are named column_1..n."),
    date_format: Optional[str] = typer.Option(None, "--date-format", help="Format of birth and sign-up dates, e.g. %d/%m/%Y or dd/mm/yyyy (default: decided from the values; a column that reads both ways is refused)."),
    sentinel: Optional[list[str]] = typer.Option(None, "--sentinel", help="COL=VALUE: a code that means missing (e.g. pdays=999, job=unknown), repeatable, added to those detected; 'none' switches detection off."),
    categoricals: Optional[str] = typer.Option(None, "--categoricals", help="describe (default: categorical columns describe the segments, clustered only when named in --features) or cluster (every usable categorical column is clustered on too; columns with more than 20 levels, id-like or nearly constant ones are left out, with the reason in the report)."),
    categorical_weight: Optional[float] = typer.Option(None, "--categorical-weight", help="Weight of each clustered categorical column against one standardised numeric column (default 1: its scaled one-hot columns hold as much variance as one numeric column; 2 counts it double, 0.5 half)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="auto (default: Spark only for a URI such as s3a:// or hdfs://), local, or spark: build the customer table with Spark SQL where the data lives (pip install 'custseg[spark]'; segments.parquet/ is written too)."),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="With --engine spark: local[*] (default), local[N], spark://HOST:7077, sc://HOST (Spark Connect), yarn or k8s://URL."),
    spark_executor_timeout: Optional[float] = typer.Option(None, "--spark-executor-timeout", help="With --engine spark on a cluster: seconds to wait for an executor, at the start (a probe job) and whenever a job has none (a lost worker), before stopping with one line (default 120)."),
    value: Optional[str] = typer.Option(None, "--value", help="Transaction log: on (default) adds each customer's P(alive), expected purchases, expected value per purchase and CLV to segments.csv (MBG/NBD and Gamma-Gamma models); off skips it."),
    horizon: Optional[str] = typer.Option(None, "--horizon", help="Horizon of the expected purchases and CLV: weeks 26w, months 12m (default) or days 90d."),
    discount: Optional[float] = typer.Option(None, "--discount", help="Annual discount rate of the CLV (default 0.10)."),
    value_model: Optional[str] = typer.Option(None, "--value-model", help="Repeat-purchase model of the customer value: mbgnbd (MBG/NBD, default), bgnbd (BG/NBD) or paretonbd (Pareto/NBD)."),
    holdout: Optional[str] = typer.Option(None, "--holdout", help="Transaction log: check the value model on the last weeks of the log before refitting it on all of it: auto (default: a third of the log's span, at most 39w, when the log spans at least 24 weeks), a length such as 26w, 6m or 90d, or off."),
    no_report: bool = typer.Option(False, "--no-report", help="Skip report.html (for batch jobs)."),
    as_json: bool = typer.Option(False, "--json", help="Print summary.json to stdout instead of the table."),
) -> None:
    """Segment the customers in DATA and write the results to --out."""
    from .pipeline import segment
    from .settings import parse_k_range, parse_list, parse_pca

    k_range = parse_k_range(k) if k is not None else (None, None)
    settings = _settings(
        config,
        id_col=id_col,
        features=parse_list(features) if features is not None else None,
        exclude=parse_list(exclude) if exclude is not None else None,
        algorithms=parse_list(algorithms) if algorithms is not None else None,
        k_min=k_range[0], k_max=k_range[1],
        pca=parse_pca(pca) if pca is not None else None,
        missing=missing, outliers=outliers, random_state=seed,
        report=False if no_report else None,
        kind=kind, customer_col=customer_col, invoice_col=invoice_col, date_col=date_col,
        quantity_col=quantity_col, price_col=price_col, amount_col=amount_col, as_of=as_of, window=window,
        customers_file=str(customers_file) if customers_file else None,
        sheet=sheet, member=member, header=header, date_format=date_format,
        sentinels=tuple(sentinel) if sentinel else None,
        categoricals=categoricals, categorical_weight=categorical_weight,
        engine=engine, spark_master=spark_master, spark_executor_timeout=spark_executor_timeout,
        value=value, horizon=horizon, discount=discount, value_model=value_model, holdout=holdout,
    )
    with _progress() as progress:
        result = segment(data, settings, on_progress=progress)
        progress("writing outputs", 0, 1)
        paths = result.write(out)
    _finish(result, paths, as_json)


def _finish(result, paths: dict, as_json: bool) -> None:
    if as_json:
        from .outputs import json_text

        sys.stdout.write(json_text(result.summary))
    else:
        _show_result(result, paths)


@app.command()
def demo(
    out: Path = typer.Option(Path("custseg-demo"), "--out", "-o", help="Folder for the sample data and every output."),
    customers: int = typer.Option(2000, "--customers", help="Number of sample customers to generate."),
    seed: int = typer.Option(0, "--seed", help="Random seed for the sample data and the runs."),
) -> None:
    """Generate sample data and run the whole pipeline on it twice: a customer table
    (DIR/customers) and an order-line log (DIR/transactions)."""
    from .pipeline import segment
    from .sampledata import generate_customers, generate_transactions, write_table

    table, truth = generate_customers(customers, 4, random_state=seed, missing=0.01, outliers=0.005)
    lines, buyers = generate_transactions(customers, 4, random_state=seed)
    inputs = {
        "customers": (table, truth.to_frame().assign(customer_id=table["customer_id"])[["customer_id", "segment"]]),
        "transactions": (lines, buyers.rename_axis("CustomerID").reset_index()),
    }
    reports = []
    for kind, (data, planted) in inputs.items():
        folder = out / kind
        data_path = folder / ("orders.csv" if kind == "transactions" else "customers.csv")
        write_table(data, data_path)
        write_table(planted, folder / "truth.csv")
        out_console.rule(Text(f"{kind}: {data_path}"))
        with _progress() as progress:
            result = segment(data_path, _settings(None, random_state=seed), on_progress=progress)
            paths = result.write(folder)
        _show_result(result, paths)
        reports += [paths["report"]] if "report" in paths else []
    for report_path in reports:
        out_console.print(Text(f"Open the report: {report_path.resolve()}"))


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", "-o", help="File to write (.csv, .tsv, .parquet, .xlsx or .json)."),
    customers: int = typer.Option(2000, "--customers", help="Number of customers."),
    segments: int = typer.Option(4, "--segments", help="Number of planted segments."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    truth: Optional[Path] = typer.Option(None, "--truth", help="Also write the planted segment of every customer here (id,segment)."),
    transactions: bool = typer.Option(False, "--transactions", help="Write an order-line log (Online Retail layout: returns, seasonality, a few wholesalers, guest orders without id) instead of a customer table."),
    missing: float = typer.Option(0.0, "--missing", help="Customer table: share of cells (0-1) to blank out. Transaction log: share of lines from guest orders without a customer id (default 0.02)."),
    outliers: float = typer.Option(0.0, "--outliers", help="Customer table: share of customers (0-1) given extreme values. Transaction log: share of wholesalers (default 0.005)."),
) -> None:
    """Write realistic customers (or order lines) with planted segments: sample data and ground truth."""
    from .errors import SettingsError
    from .sampledata import generate_customers, generate_transactions, write_table

    try:
        if transactions:
            table, labels = generate_transactions(
                customers, segments, random_state=seed,
                missing_ids=missing or 0.02, wholesalers=outliers or 0.005,
            )
            planted = labels.rename_axis("CustomerID").reset_index()
        else:
            table, labels = generate_customers(customers, segments, random_state=seed, missing=missing,
                                               outliers=outliers)
            planted = labels.to_frame().assign(customer_id=table["customer_id"])[["customer_id", "segment"]]
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    write_table(table, out)
    if truth is not None:
        write_table(planted, truth)
    what = "order lines" if transactions else "customers"
    out_console.print(Text(f"wrote {len(table):,} {what} ({customers:,} customers in {segments} planted segments) to {out}"))


@app.command()
def assign(
    model: Path = typer.Argument(..., help="model.json written by custseg run."),
    data: str = typer.Argument(..., help="Customers to assign, with the columns the model was fitted on (or order lines, for a model fitted on a log); with --engine spark also a URI Spark reads."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File to write: id, segment, segment_name (default assigned.csv; with --engine spark a Parquet folder, default assigned.parquet)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Reference date (YYYY-MM-DD) for a model fitted on a transaction log; default the run's rule."),
    engine: str = typer.Option("local", "--engine", help="local (default) or spark: assign on Spark where the data lives, any model file (pip install 'custseg[spark]')."),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="With --engine spark: local[*] (default), local[N], spark://HOST:7077, sc://HOST, yarn or k8s://URL."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel: the sheet to read (default: every sheet whose header matches the first one, stacked), as for custseg run."),
    member: Optional[str] = typer.Option(None, "--member", help="Archive (.zip, .tar, .tar.gz, .tgz): the table to read inside it (default: the only one)."),
    header: Optional[str] = typer.Option(None, "--header", help="auto (default), yes or no: whether the first row holds the column names, as for custseg run."),
    date_format: Optional[str] = typer.Option(None, "--date-format", help="Model fitted on order lines: format of their dates, e.g. %d/%m/%Y or dd/mm/yyyy (default: the format the run read its dates with)."),
    window: Optional[str] = typer.Option(None, "--window", help="Model fitted on order lines: the trailing window of its count and money features; always the model's (model.json), so a different one is refused."),
) -> None:
    """Put new customers (or, for a transaction model, new order lines) into the segments of a saved model."""
    import pandas as pd

    from .model import load_model
    from .outputs import csv_text, write_atomic
    from .reading import ReadOptions
    from .settings import Settings

    reading = {"sheet": sheet, "member": member, "header": header, "date_format": date_format}
    given = {name: value for name, value in reading.items() if value is not None}
    settings = Settings(engine=engine, spark_master=spark_master, window=window).replace(**given).validated()
    fitted = load_model(model)
    fitted.check_window(window)
    _check_assign_reading(fitted, given, engine_for(data, engine))
    if engine_for(data, engine) == "spark":
        from .engines.spark.customers import assign_file_spark

        with _progress() as progress:
            progress("assigning customers on Spark", 0, 1)
            path, assigned, rows, used_as_of = assign_file_spark(fitted, data, out or Path("assigned.parquet"),
                                                                 as_of=as_of, master=spark_master)
        note = f"; {rows - assigned:,} rows left out (no usable feature value, or no or a repeated id)" \
            if rows > assigned else ""
        out_console.print(Text(f"assigned {assigned:,} of {rows:,} customers to {path}{note}"))
        if used_as_of is not None:
            out_console.print(Text(_assign_value_note(fitted, used_as_of, model)), soft_wrap=True)
        return
    out = out or Path("assigned.csv")
    features = scores = None
    if fitted.transactions is None:
        frame = fitted.customer_table(data, as_of, ReadOptions.from_settings(settings))
    else:
        features = fitted.transaction_features(data, as_of, ReadOptions.from_settings(settings))
        frame, scores = features.customers, fitted.value_scores(features)
    ids, labels, usable = fitted.assign(frame)
    result = pd.DataFrame({
        fitted.roles.id_name: ids.to_numpy(),
        "segment": labels,
        "segment_name": [fitted.name_of(s) for s in labels],
    })
    if scores is not None:
        result = pd.concat([result, scores], axis=1)
    write_atomic(out, csv_text(result[usable]))
    skipped = int((~usable).sum())
    note = f"; {skipped:,} rows with no usable feature value left out" if skipped else ""
    out_console.print(Text(f"assigned {int(usable.sum()):,} of {len(frame):,} customers to {out}{note}"))
    if features is not None:
        out_console.print(Text(_assign_value_note(fitted, features.as_of, model)), soft_wrap=True)


def _assign_value_note(fitted, as_of, path: Path) -> str:
    """One line on the customer value of an assigned log: scored with the model's parameters
    as of the snapshot's date, or why not."""
    if fitted.value is None:
        return (f"customer value not scored: {path} has no fitted value parameters (a run with --value off, "
                f"one whose value models could not be fitted, or by a custseg before them); run custseg "
                f"again to score value")
    return (f"customer value scored with the model's {fitted.value.label} parameters as of "
            f"{as_of.isoformat()}, without refitting")


def _check_assign_reading(fitted, given: dict, engine: str) -> None:
    """Refuse reading options ``custseg assign`` cannot honour, in one line naming them."""
    from .errors import SettingsError

    options = ", ".join(f"--{name.replace('_', '-')}" for name in given)
    if given and engine == "spark":
        raise SettingsError(f"{options}: the Spark engine reads delimited text with a header row and Parquet; "
                            f"leave these out or assign with --engine local")
    if "date_format" in given and fitted.transactions is None:
        raise SettingsError("--date-format applies to a model fitted on order lines; this model was fitted on a "
                            "customer table and reads its date columns as its run did (model.json)")


@app.command()
def track(
    model: Path = typer.Argument(..., help="model.json written by custseg run; the run's segments.csv beside it is the before-state."),
    data: Path = typer.Argument(..., help="The new snapshot: customers with the model's columns, or, for a model fitted on a transaction log, order lines."),
    out: Path = typer.Option(Path("custseg-track"), "--out", "-o", help="Folder for migration.csv, transitions.csv, summary.json and report.html."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Transaction log: reference date (YYYY-MM-DD) of the new snapshot, within the log's dates (default: the day after its last order line)."),
    previous: Optional[Path] = typer.Option(None, "--previous", help="A segments.csv of a custseg run to compare with, instead of the one beside MODEL."),
    seed: int = typer.Option(0, "--seed", help="Seed of the refit sample that looks for new groups."),
    window: Optional[str] = typer.Option(None, "--window", help="Transaction log: the trailing window of the count and money features; always the model's (model.json), so a different one is refused. Without one, a warning says when the two snapshots cover histories of different lengths."),
    no_report: bool = typer.Option(False, "--no-report", help="Skip report.html."),
    as_json: bool = typer.Option(False, "--json", help="Print summary.json to stdout instead of the table."),
) -> None:
    """Compare a new snapshot of customers with the segments of the run that made MODEL:
    who moved where, which segments grow, and whether the segments still hold."""
    from .tracking.track import track as track_customers

    with _progress() as progress:
        tracked = track_customers(model, data, previous=previous, as_of=as_of, random_state=seed,
                                  on_progress=progress, window=window)
        progress("writing outputs", 0, 1)
        paths = tracked.write(out, report=not no_report)
    if as_json:
        from .outputs import json_text

        sys.stdout.write(json_text(tracked.summary))
        return
    _show_tracking(tracked, paths)


def _show_tracking(tracked, paths: dict) -> None:
    counts = tracked.customers
    table = Table(title=f"{counts['in_both']:,} customers in both snapshots: {counts['kept']:,} kept, "
                        f"{counts['moved']:,} moved; {counts['new']:,} new, {counts['gone']:,} gone",
                  title_justify="left")
    for column in ("segment", "before", "now", "change", "kept", "lost", "gained"):
        table.add_column(column, overflow="fold")
    sizes = tracked.sizes
    for name, before, after, change, kept, lost, gained in zip(
            sizes.index, *(sizes[c].to_numpy(dtype="int64") for c in ("before", "after", "change", "kept", "lost",
                                                                        "gained"))):
        table.add_row(Text(str(name)), f"{before:,}", f"{after:,}", f"{change:+,}", f"{kept:,}", f"{lost:,}",
                      f"{gained:,}")
    out_console.print(table)
    for move in tracked.moves:
        out_console.print(Text(f"- {move['sentence']}"))
    for line in (tracked.value or {}).get("sentences", []):
        out_console.print(Text(f"value: {line}"))
    for warning in tracked.info.get("warnings", []):
        out_console.print(Text(f"warning: {warning}", style="yellow"))
    verdict = tracked.verdict or tracked.drift.get("note")
    out_console.print(Text(f"drift: {verdict}"))
    for kind, path in paths.items():
        out_console.print(Text(f"{kind + ':':12} {path}"))


@app.command()
def report(
    summary: Path = typer.Argument(..., help="summary.json written by custseg run (or by custseg track: its page)."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
) -> None:
    """Render report.html again from a saved summary.json, without refitting."""
    import json

    from .errors import InputError
    from .reporting.report import write_report

    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"file not found: {summary}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{summary} is not a custseg summary.json ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("tracking"), dict):     # written by custseg track
        from .reporting.report import write_track_report

        out_console.print(Text(f"wrote {write_track_report(data, out)}"))
        return
    if not isinstance(data, dict) or "segments" not in data or "chosen" not in data:
        raise InputError(f"{summary} is not a custseg summary.json (no 'segments' and 'chosen')")
    out_console.print(Text(f"wrote {write_report(data, out)}"))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``custseg`` command."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=[a for a in args if a != "--debug"], prog_name="custseg")
    except (CustsegError, OSError) as exc:
        if debug:
            raise
        message = str(exc) if isinstance(exc, CustsegError) else f"{exc.strerror}: {exc.filename}"
        err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
        # 1: the environment cannot run the engine (PySpark, Java, the cluster); 2: bad input.
        sys.exit(1 if isinstance(exc, EngineError) else 2)
    except KeyboardInterrupt:
        err_console.print(Text("interrupted", style="red"))
        sys.exit(130)


if __name__ == "__main__":
    main()
