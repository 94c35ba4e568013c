"""lamsach.spark.check and lamsach.spark.link on a local Spark with 2 executor threads give
what the command line's `lamsach check` gives, on 20 000 generated people with vaccination
and insurance extracts read as DataFrames of several partitions:
- `check` (standard noise, with the CMND map, the birth registrations and the deaths
  registry, and a residents column the engine does not know): every finding (rules,
  duplicates, links, births, deaths linked by name; the unknown column carried through), the
  duplicate pairs, clusters, rows for review, links, summary.json and each commune's fix
  list;
- a second night (`check --previous` with a returned fix list, `--verdicts`, on residents of
  whom some are gone and one was edited): every finding with its status, the resolved
  findings, pairs, clusters with their kept IDs, rows for review, the verdicts kept, the fix
  lists and summary.json, as the command line's; the previous run's model reused;
- `link` (registers noise, and again under a block cap of 4): the same links (row, resident,
  personal ID, probability), link findings and rows for review, and per source the same rows to
  link, rows linked and calibration shares.
Skipped, saying why, when pyspark or Java is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from local_spark import local_spark

# summary.json's figures of how a run ran, not of the data: the seconds, and the command
# line's memory plan (Spark's executors hold their own partitions).
HOW_IT_RAN = ("timings_seconds", "memory")
BIN = os.environ.get("LAMSACH_BIN", "target/release/lamsach")


def rows(path):
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    return sorted(zip(*[t.column(c).to_pylist() for c in t.column_names]), key=repr)


def differ(got, exp):
    return (len(got), len(exp), [r for r in got if r not in exp][:3],
            [r for r in exp if r not in got][:3])


def same_as_cli(spark, tmp, noise, cap=None, whole=False):
    from lamsach import spark as ls

    data = os.path.join(tmp, noise)
    if not os.path.exists(data):
        # Two provinces and many duplicates: crowded blocks and clusters.
        subprocess.run([BIN, "generate", "--out", data, "--people", "20000", "--seed", "5",
                        "--noise", noise, "--provinces", "2", "--dup-rate", "0.08",
                        "--error-rate", "0.05", "--quiet"], check=True)
    config = []
    if cap is not None:
        # The config reaches the executors: a block cap under which a pass keeps only the
        # first residents of a block in its scope, in row order.
        config = [os.path.join(tmp, "cap.toml")]
        with open(config[0], "w") as f:
            f.write(f"[matching]\nmax_block_size = {cap}\n")
    name = f"{noise}-{cap}"
    p = lambda f: f"{data}/{f}.parquet"  # noqa: E731
    cli = os.path.join(tmp, f"{name}-cli")
    if not os.path.exists(p("deaths-some-without-ids")):
        # A third of the deaths registered without an ID, to be linked by name (as most deaths
        # that do not go through the combined procedure reach a register).
        import pyarrow as pa
        import pyarrow.parquet as pq

        t = pq.read_table(p("deaths"))
        i = t.schema.get_field_index("personal_id")
        ids = [None if k % 3 == 0 else v for k, v in enumerate(t.column(i).to_pylist())]
        t = t.set_column(i, "personal_id", pa.array(ids, t.schema.field(i).type))
        pq.write_table(t, p("deaths-some-without-ids"))
    # The insurance rows again as a prisoners' extract: indicator (6) splits its rows into new
    # entries and matches.
    if whole and not os.path.exists(p("pham_nhan")):
        # The insurance rows again as a prisoners' extract from two data sources, which
        # indicator (6) splits into new entries and matches.
        import pyarrow as pa
        import pyarrow.parquet as pq

        t = pq.read_table(p("insurance"))
        t = t.append_column("data_source", pa.array(
            [("V06", " C10 ")[k % 2] for k in range(t.num_rows)], pa.string()))
        pq.write_table(t, p("pham_nhan"))
    register = "residents"
    if whole:
        # A column the engine does not know (a commune's own note): carried through to the
        # findings and the fix lists, as SPEC §2 says.
        register = "residents-extra"
        if not os.path.exists(p(register)):
            import pyarrow as pa
            import pyarrow.parquet as pq

            t = pq.read_table(p("residents"))
            t = t.append_column("ghi_chu_xa", pa.array(
                [f"hồ sơ {k % 7}" if k % 3 else None for k in range(t.num_rows)], pa.string()))
            pq.write_table(t, p(register))
    more = ["--births", p("births"), "--deaths", p("deaths-some-without-ids")]
    if whole:
        more += ["--extract", f"pham_nhan={p('pham_nhan')}"]
    subprocess.run([BIN, "check", "--as-of", "2026-01-01", "--residents", p(register),
                    "--vaccination", p("vaccination"), "--insurance", p("insurance"),
                    "--cmnd-map", p("cmnd_map"), *more, "--out", cli, "--quiet",
                    *[a for c in config for a in ("--config", c)]], check=True)
    out = os.path.join(tmp, f"{name}-spark")
    # Extracts as tables in memory, in several partitions that keep the rows' order.
    import pyarrow.parquet as pq

    def read(f):
        df = spark.createDataFrame(pq.read_table(p(f)))
        assert df.rdd.getNumPartitions() > 1
        return df

    cfg = config[0] if config else None
    residents = spark.read.parquet(p(register))
    if whole:
        # An earlier run's outputs in `out` (an evaluation) must not outlive it.
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "eval.json"), "w") as f:
            f.write("{}")
        summary = ls.check(spark, residents, as_of="2026-01-01", vaccination=read("vaccination"),
                           insurance=read("insurance"), cmnd_map=read("cmnd_map"),
                           births=read("births"), deaths=read("deaths-some-without-ids"),
                           extracts={"pham_nhan": read("pham_nhan")}, out=out,
                           config_file=cfg)
    else:
        summary = ls.link(spark, residents, vaccination=read("vaccination"),
                          insurance=read("insurance"), out=out, config_file=cfg)
    with open(os.path.join(cli, "summary.json")) as f:
        want = json.load(f)
    with open(os.path.join(out, "summary.json")) as f:
        assert json.load(f) == summary
    if whole:
        assert not os.path.exists(os.path.join(out, "eval.json")), "a stale eval.json"
        written = sorted(os.path.relpath(os.path.join(d, n), out)
                         for d, _, names in os.walk(out) for n in names
                         if not n.startswith("."))
        with open(os.path.join(out, ".lamsach.files")) as f:
            assert sorted(f.read().split()) == written, written
        for f in ("findings", "duplicates", "clusters", "review", "resolved"):
            got = rows(os.path.join(out, f"{f}.parquet"))
            exp = rows(os.path.join(cli, f"{f}.parquet"))
            assert got == exp, (f, differ(got, exp))
        found = pq.read_table(os.path.join(out, "findings.parquet"))
        assert "ghi_chu_xa" in found.column_names, found.column_names
        assert found.column("ghi_chu_xa").null_count < found.num_rows
        # Each commune's fix list (CSV and XLSX) as the command line's, byte for byte: the
        # same rows, cells, order and sheets.
        lists = sorted(os.listdir(os.path.join(cli, "fixlists")))
        assert sorted(os.listdir(os.path.join(out, "fixlists"))) == lists and len(lists) > 20
        for name in lists:
            with open(os.path.join(out, "fixlists", name), "rb") as f, \
                    open(os.path.join(cli, "fixlists", name), "rb") as g:
                assert f.read() == g.read(), name
        # summary.json as the command line's (the report's worked examples too): every figure
        # but how it ran (HOW_IT_RAN) and how the candidate pairs were counted.
        process = ("pairs_compared", "pairs_per_blocking_pass",
                   "pairs_proposed_by_one_pass_only")
        assert len(summary["duplicates"]["examples"]) == 3, summary["duplicates"]
        for k in want:
            if k == "duplicates":
                for d in want[k]:
                    if d not in process:
                        assert summary[k][d] == want[k][d], (d, summary[k][d], want[k][d])
            elif k not in HOW_IT_RAN:
                assert summary[k] == want[k], (k, summary[k], want[k])
        ind = {i["key"]: i for i in summary["indicators"]}
        split = ind["6_lam_sach_pham_nhan"]["split"]
        assert [s["data_source"] for s in split] == ["C10", "V06"], split
        assert all(s["doi_khop"] > 1000 and s["nhap_moi"] > 10 for s in split), split
        assert ind["tiem_chung_sai_dinh_dang"]["people"] > 100, ind
        with open(os.path.join(out, "model.json")) as f, \
                open(os.path.join(cli, "model.json")) as g:
            assert json.load(f)["fields"] == json.load(g)["fields"]
        with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
            html = f.read()
        # The report as the command line's: the indicators, the rules, the communes.
        for text in ("(6) Làm sạch dữ liệu phạm nhân", "link.suggested",
                     next(iter(summary["commune_stats"]))):
            assert text in html, text
        for source in ("births", "deaths"):
            assert want["linking"][source] == summary["linking"][source], (source, summary)
        assert any(r[5] == "alive.deceased_active" and r[10] is not None
                   for r in rows(os.path.join(cli, "findings.parquet"))), "no death linked"
        for rule in ("link.suggested", "birth.no_resident", "birth.mismatch"):
            assert want["findings_per_rule"][rule] > 10, (rule, want["findings_per_rule"])
    else:
        # The links' findings and rows for review, among the command line's.
        def linking(path, rule_col):
            return [r for r in rows(path) if r[rule_col] in ("link.suggested", "link.ambiguous")]

        for f, col in (("findings", 5), ("review", 0)):
            got = linking(os.path.join(out, f"{f}.parquet"), col)
            exp = linking(os.path.join(cli, f"{f}.parquet"), col)
            assert got == exp and exp, (f, differ(got, exp))
    for source in ("vaccination", "insurance"):
        assert summary["linking"][source] == want["linking"][source], (
            source, summary["linking"][source], want["linking"][source])
    got, exp = rows(os.path.join(out, "links.parquet")), rows(os.path.join(cli, "links.parquet"))
    assert got == exp, differ(got, exp)
    linked = sum(want["linking"][s]["linked"] for s in want["linking"]
                 if s not in ("births", "deaths"))
    assert len(exp) == linked and linked > 200, (len(exp), linked)
    what = f"check, {summary['findings_total']} findings and" if whole else "link,"
    print(f"ok  spark {what} ({noise}, block cap {cap}): {len(exp)} links as the command line's, "
          f"{sum(want['linking'][s]['rows_to_link'] for s in ('vaccination', 'insurance'))} "
          "rows to link")


def second_night(spark, tmp):
    """The night after `same_as_cli(..., whole=True)`: some residents gone, one edited, a commune's
    fix list returned with verdicts; the command line and Spark each compare with their own
    first night."""
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from lamsach import spark as ls

    data = os.path.join(tmp, "standard")
    p = lambda f: f"{data}/{f}.parquet"  # noqa: E731
    first = {"cli": os.path.join(tmp, "standard-None-cli"),
             "spark": os.path.join(tmp, "standard-None-spark")}
    residents = pq.read_table(p("residents-extra"))
    ids = set(residents.column("record_id").to_pylist())
    # The commune with the longest fix list returns it: three residents' findings are not
    # errors, two duplicate pairs are two people.
    lists = os.path.join(first["cli"], "fixlists")
    longest = max((f for f in os.listdir(lists) if f.endswith(".csv")),
                  key=lambda f: os.path.getsize(os.path.join(lists, f)))
    with open(os.path.join(lists, longest), encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    head, body = table[0], table[1:]
    col = {h: i for i, h in enumerate(head)}
    marked = {"Không phải lỗi": [], "Không trùng": []}
    for row in body:
        rule, rec = row[col["Quy tắc"]], row[col["Mã bản ghi"]]
        verdict = "Không trùng" if rule == "dup.in_province" else "Không phải lỗi"
        if rec in ids and len(marked[verdict]) < (2 if rule == "dup.in_province" else 3) \
                and (verdict == "Không trùng" or not row[col["Bản ghi liên quan"]]):
            row[col["Kết quả xác minh"]] = verdict
            marked[verdict].append(rec)
    assert len(marked["Không phải lỗi"]) == 3 and len(marked["Không trùng"]) == 2, marked
    returned = os.path.join(tmp, "returned.csv")
    with open(returned, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(table)
    # Tonight's residents: every 97th record is gone (moved away, fixed by merging), and the
    # first record judged "not an error" was edited since, so its verdict lapses.
    keep = set(r for i, r in enumerate(residents.column("record_id").to_pylist())
               if i % 97 or r in marked["Không phải lỗi"] + marked["Không trùng"])
    tonight = residents.filter(pc.is_in(residents.column("record_id"),
                                        value_set=pa.array(sorted(keep))))
    i = tonight.schema.get_field_index("full_name")
    edited = marked["Không phải lỗi"][0]
    names = [n + " Anh" if r == edited else n for n, r in
             zip(tonight.column(i).to_pylist(), tonight.column("record_id").to_pylist())]
    tonight = tonight.set_column(i, "full_name", pa.array(names, pa.string()))
    pq.write_table(tonight, p("residents-tonight"))
    sources = ["vaccination", "insurance", "cmnd_map", "births", "deaths-some-without-ids"]
    cli = os.path.join(tmp, "night2-cli")
    subprocess.run([BIN, "check", "--as-of", "2026-01-02", "--residents", p("residents-tonight"),
                    "--vaccination", p("vaccination"), "--insurance", p("insurance"),
                    "--cmnd-map", p("cmnd_map"), "--births", p("births"), "--deaths",
                    p("deaths-some-without-ids"), "--extract", f"pham_nhan={p('pham_nhan')}",
                    "--previous", first["cli"], "--verdicts", returned, "--out", cli, "--quiet"],
                   check=True)
    out = os.path.join(tmp, "night2-spark")
    tonight_df = spark.read.parquet(p("residents-tonight"))

    def refused(where=out, **nightly):
        """The plain sentence a nightly run's bad arguments get, before any Spark work."""
        try:
            ls.check(spark, tonight_df, as_of="2026-01-02", out=where, **nightly)
        except ValueError as e:
            return str(e)
        raise AssertionError(f"not refused: {nightly}")

    assert "former run" in refused(previous=data), "a data directory taken for a run"
    assert "itself" in refused(where=first["spark"], previous=first["spark"])
    assert "does not exist" in refused(verdicts=[os.path.join(tmp, "no-such.xlsx")])
    assert "together" in refused(model=os.path.join(first["spark"], "model.json"), retrain=True)
    read = {s: spark.read.parquet(p(s)) for s in sources + ["pham_nhan"]}
    summary = ls.check(spark, tonight_df, as_of="2026-01-02",
                       vaccination=read["vaccination"], insurance=read["insurance"],
                       cmnd_map=read["cmnd_map"], births=read["births"],
                       deaths=read["deaths-some-without-ids"],
                       extracts={"pham_nhan": read["pham_nhan"]}, previous=first["spark"],
                       verdicts=returned, out=out)
    for f in ("findings", "duplicates", "clusters", "review", "resolved", "verdicts"):
        got = rows(os.path.join(out, f"{f}.parquet"))
        exp = rows(os.path.join(cli, f"{f}.parquet"))
        assert got == exp, (f, differ(got, exp))
    lists = sorted(os.listdir(os.path.join(cli, "fixlists")))
    assert sorted(os.listdir(os.path.join(out, "fixlists"))) == lists
    for name in lists:
        with open(os.path.join(out, "fixlists", name), "rb") as f, \
                open(os.path.join(cli, "fixlists", name), "rb") as g:
            assert f.read() == g.read(), name
    with open(os.path.join(cli, "summary.json")) as f:
        want = json.load(f)
    process = ("pairs_compared", "pairs_per_blocking_pass", "pairs_proposed_by_one_pass_only")
    for k in want:
        if k == "duplicates":
            for d in want[k]:
                if d == "training":
                    # Where the model came from: each run's own first night.
                    assert summary[k][d]["reused_from"] == os.path.join(first["spark"],
                                                                         "model.json")
                    summary[k][d]["reused_from"] = want[k][d]["reused_from"]
                if d not in process:
                    assert summary[k][d] == want[k][d], (d, summary[k][d], want[k][d])
        elif k == "previous":
            assert summary[k] == first["spark"], summary[k]
        elif k not in HOW_IT_RAN:
            assert summary[k] == want[k], (k, summary[k], want[k])
    # What a second night is for: findings still open and new ones, resolved ones, the
    # verdicts in force (the edited record's lapsed), the model reused.
    status = pq.read_table(os.path.join(out, "findings.parquet")).column("status").to_pylist()
    resolved = pq.read_table(os.path.join(out, "resolved.parquet")).num_rows
    assert status.count("open") > 1000 and status.count("new") > 10 and resolved > 50, (
        status.count("open"), status.count("new"), resolved)
    v = summary["verdicts"]
    assert v["read"] == 5 and v["records_changed"] == 1 and v["findings_withdrawn"] >= 4, v
    kept = pq.read_table(os.path.join(out, "verdicts.parquet")).column("record_id").to_pylist()
    assert edited not in kept and len(kept) == 4, kept
    assert summary["duplicates"]["training"]["method"] == "reused", summary["duplicates"]
    print(f"ok  spark check, second night: {status.count('new')} new and "
          f"{status.count('open')} open findings, {resolved} resolved, {v['findings_withdrawn']} "
          "withdrawn by verdicts, as the command line's")


def main():
    spark = local_spark("lamsach-test-check")
    if spark is None:
        return 0
    tmp = tempfile.mkdtemp(prefix="lamsach-spark-check-")
    try:
        same_as_cli(spark, tmp, "standard", whole=True)
        second_night(spark, tmp)
        for cap in (None, 4):
            same_as_cli(spark, tmp, "registers", cap)
    finally:
        spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
