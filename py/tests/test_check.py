"""The Python package against the command line: the same findings, pairs and links from
tables in memory (pyarrow with large_string and string_view columns, polars, pandas) as from
the files; errors as the engine words them. Run by py/test.sh (plain asserts, no pytest)."""
import os
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import lamsach

BIN = os.environ.get("LAMSACH_BIN", "target/release/lamsach")


def rows(path, cols):
    t = pq.read_table(path, columns=cols)
    return set(zip(*[t.column(c).to_pylist() for c in cols]))


def outputs(run):
    return (
        rows(os.path.join(run, "findings.parquet"),
             ["source", "record_id", "rule", "field", "related_record_id"]),
        rows(os.path.join(run, "duplicates.parquet"), ["record_id_a", "record_id_b"]),
        rows(os.path.join(run, "links.parquet"), ["source", "record_id", "resident_record_id"]),
    )


def with_strings(table, type_):
    cols = [pc.cast(c, type_) if pa.types.is_string(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


def main():
    # The run's files hold generated people; they go when the test ends, pass or fail.
    with tempfile.TemporaryDirectory(prefix="lamsach-py-") as tmp:
        return run(tmp)


def run(tmp):
    data = os.path.join(tmp, "data")
    subprocess.run([BIN, "generate", "--out", data, "--people", "5000", "--seed", "4",
                    "--quiet"], check=True)
    files = os.path.join(tmp, "files")
    subprocess.run([BIN, "check", "--quiet", "--as-of", "2026-01-01",
                    "--residents", f"{data}/residents.parquet",
                    "--vaccination", f"{data}/vaccination.parquet",
                    "--insurance", f"{data}/insurance.parquet",
                    "--deaths", f"{data}/deaths.parquet", "--out", files], check=True)
    expected = outputs(files)
    assert len(expected[0]) > 300 and len(expected[1]) > 30, [len(x) for x in expected]

    residents = pq.read_table(f"{data}/residents.parquet")
    vaccination = pq.read_table(f"{data}/vaccination.parquet")
    insurance = pq.read_table(f"{data}/insurance.parquet")
    deaths = pq.read_table(f"{data}/deaths.parquet")
    import pandas
    import polars

    cases = {
        "pyarrow large_string": dict(
            residents=with_strings(residents, pa.large_string()),
            vaccination=with_strings(vaccination, pa.large_string()),
            insurance=insurance, deaths=deaths),
        "pyarrow string_view": dict(
            residents=with_strings(residents, pa.string_view()),
            vaccination=vaccination.to_reader(max_chunksize=700),
            insurance=insurance, deaths=deaths),
        "polars": dict(residents=polars.from_arrow(residents),
                       vaccination=polars.from_arrow(vaccination),
                       insurance=polars.from_arrow(insurance), deaths=deaths),
        "pandas": dict(residents=residents.to_pandas(), vaccination=vaccination.to_pandas(),
                       insurance=insurance.to_pandas(), deaths=f"{data}/deaths.parquet"),
    }
    for name, sources in cases.items():
        out = os.path.join(tmp, name.replace(" ", "_"))
        result = lamsach.check(out=out, as_of="2026-01-01", **sources)
        assert outputs(out) == expected, f"{name}: outputs differ from the files'"
        assert result.summary["findings_total"] == len(pq.read_table(f"{files}/findings.parquet"))
        assert result.findings.num_rows == result.summary["findings_total"]
        print(f"ok  {name}: {result.summary['findings_total']} findings, "
              f"{result.duplicates.num_rows} duplicate pairs, as from the files")

    # Over a memory budget the inputs are held on disk: the same outputs, and the summary
    # says so.
    out = os.path.join(tmp, "budget")
    result = lamsach.check(out=out, as_of="2026-01-01", memory_gb=0.001, **cases["polars"])
    assert outputs(out) == expected, "memory_gb: outputs differ from the files'"
    memory = result.summary["memory"]
    assert memory["inputs_on_disk"] and memory["budget_from"] == "memory_gb", memory
    assert memory["budget_bytes"] == 1_000_000, memory
    for bad in (0, -1, float("nan")):
        try:
            lamsach.check(residents, out=os.path.join(tmp, "bad-budget"), as_of="2026-01-01",
                          memory_gb=bad)
            raise AssertionError(f"memory_gb={bad} was accepted")
        except ValueError as e:
            assert "memory_gb" in str(e), e
    print("ok  memory_gb: the inputs held on disk, the same outputs")

    # The next night from tables in memory: compared with the previous run, its model reused
    # unless retrain, which says how far the estimated one moved.
    night = lamsach.check(out=os.path.join(tmp, "night2"), as_of="2026-01-02",
                          previous=files, residents=residents, vaccination=vaccination,
                          insurance=insurance, deaths=deaths)
    training = night.summary["duplicates"]["training"]
    assert training["method"] == "reused" and training["reused_from"].startswith(files), training
    status = night.findings.column("status").to_pylist()
    assert status.count("open") > 300, status.count("open")
    again = lamsach.check(out=os.path.join(tmp, "night2-retrained"), as_of="2026-01-02",
                          previous=files, retrain=True, residents=residents,
                          vaccination=vaccination, insurance=insurance, deaths=deaths)
    training = again.summary["duplicates"]["training"]
    assert training["method"] != "reused" and training["change_from_previous"], training
    print(f"ok  a second night: {status.count('open')} findings open, the model reused, "
          "and estimated anew with retrain")

    # A table without a required column: one sentence naming the table, no cell value.
    bad = pa.table({"record_id": ["A1"], "full_name": ["Lê Văn An"]})
    try:
        lamsach.check(bad, out=os.path.join(tmp, "bad"), as_of="2026-01-01")
        raise AssertionError("a residents table without birth_date was accepted")
    except ValueError as e:
        msg = str(e)
        assert "the residents table" in msg and "birth_date" in msg and "Lê" not in msg, msg
    try:
        lamsach.check(residents, out=os.path.join(tmp, "bad2"), as_of="30/06")
        raise AssertionError("a partial as_of was accepted")
    except ValueError:
        pass
    print("ok  errors name the table and the problem")

    # The per-row rules kernel: its findings are the whole check's, batch by batch.
    got = lamsach.rules(residents, as_of="2026-01-01")
    whole = rows(os.path.join(files, "findings.parquet"), ["record_id", "rule", "field"])
    mine = set(zip(*[got.column(c).to_pylist() for c in ["record_id", "rule", "field"]]))
    assert len(mine) > 20 and mine <= whole, (len(mine), sorted(mine - whole)[:5])
    halves = [lamsach.rules(residents.slice(0, 2000), as_of="2026-01-01"),
              lamsach.rules(residents.slice(2000), as_of="2026-01-01")]
    assert sum(h.num_rows for h in halves) == got.num_rows
    print(f"ok  rules: {got.num_rows} per-row findings, the check's own")

    summary = lamsach.dedup(f"{data}/residents.parquet", out=os.path.join(tmp, "dedup"),
                            memory_gb=1)
    assert summary["duplicates"]["pairs"] > 30, summary["duplicates"]
    print("ok  dedup")


if __name__ == "__main__":
    sys.exit(main())
