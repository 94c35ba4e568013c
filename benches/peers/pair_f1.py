"""Duplicate-pair precision, recall and F1 of a pair list against a `generate` truth, scored
exactly as `lamsach eval` scores duplicates.parquet (unordered pairs of resident records of one
entity), but in DuckDB, out of core, so it also works for registers whose truth does not fit
in memory (the national benchmark).

Usage: pair_f1.py DATA_DIR PAIRS.parquet [COL_A COL_B]   (default record_id_a record_id_b)
"""
import json
import sys

import duckdb


def score(con, data, pairs, col_a="record_id_a", col_b="record_id_b"):
    tp, n_found, n_truth = con.execute(f"""
    WITH e AS (SELECT record_id, entity_id FROM read_parquet('{data}/truth/entities.parquet')
               WHERE source = 'residents'),
    truth AS (SELECT a.record_id AS x, b.record_id AS y FROM e a JOIN e b
              ON a.entity_id = b.entity_id AND a.record_id < b.record_id),
    found AS (SELECT DISTINCT least({col_a}, {col_b}) AS x,
                     greatest({col_a}, {col_b}) AS y FROM read_parquet('{pairs}'))
    SELECT (SELECT count(*) FROM found JOIN truth USING (x, y)),
           (SELECT count(*) FROM found), (SELECT count(*) FROM truth)
    """).fetchone()
    p = tp / n_found if n_found else 0.0
    r = tp / n_truth if n_truth else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"pairs_predicted": n_found, "true_pairs": n_truth,
            "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


if __name__ == "__main__":
    con = duckdb.connect()
    con.execute("SET memory_limit = '6GB'")
    print(json.dumps(score(con, *sys.argv[1:])))
