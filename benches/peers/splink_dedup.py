"""Splink (on DuckDB) deduplicating the same generated residents lamsach deduplicates, with a
model a careful analyst would build from Splink's documentation: names folded to ASCII and
split into family / middle / given, Jaro-Winkler levels on names, a date-of-birth comparison,
exact levels on sex, commune, personal ID, CMND and parents; blocking rules equivalent to
lamsach's passes; u by random sampling, m by EM over two blocking rules; pairs at match
probability >= 0.5. Duplicate-pair precision, recall and F1 are scored against the truth of
`lamsach generate` exactly as `lamsach eval` scores lamsach.

Usage: python splink_dedup.py DATA_DIR OUT.parquet
Prints one JSON line: {"seconds": ..., "pairs_predicted": ..., "precision": ..., ...}.
"""
import json
import logging
import os
import sys
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

data, out = sys.argv[1:3]
t0 = time.perf_counter()
con = duckdb.connect()
# Folded names (lower case, no diacritics, single spaces), family = first syllable,
# given = last, middle = the rest; empty cells become NULL so Splink treats them as missing.
con.execute(f"""
CREATE TABLE people AS
WITH r AS (
  SELECT record_id,
         nullif(regexp_replace(lower(strip_accents(replace(replace(trim(full_name), 'Đ', 'D'),
                'đ', 'd'))), '\\s+', ' ', 'g'), '') AS name,
         nullif(trim(birth_date), '') AS birth_date,
         CASE WHEN lower(strip_accents(trim(sex))) IN ('nam', 'm', 'male') THEN 'M'
              WHEN lower(strip_accents(trim(sex))) IN ('nu', 'f', 'female') THEN 'F' END AS sex,
         nullif(trim(commune_code), '') AS commune_code,
         CASE WHEN regexp_full_match(trim(personal_id), '\\d{{12}}') THEN trim(personal_id) END
           AS personal_id,
         nullif(trim(old_id), '') AS old_id,
         nullif(lower(strip_accents(trim(father_name))), '') AS father_name,
         nullif(lower(strip_accents(trim(mother_name))), '') AS mother_name
  FROM read_parquet('{data}/residents.parquet')
)
SELECT record_id AS unique_id,
       split_part(name, ' ', 1) AS family_name,
       nullif(array_to_string(string_split(name, ' ')[2:-2], ' '), '') AS middle_name,
       CASE WHEN len(string_split(name, ' ')) > 1 THEN string_split(name, ' ')[-1] END
         AS given_name,
       CASE WHEN len(string_split(name, ' ')) > 1 THEN left(string_split(name, ' ')[-1], 1) END
         AS given_initial,
       birth_date,
       TRY_CAST(left(birth_date, 4) AS INTEGER) AS birth_year,
       TRY_STRPTIME(birth_date, '%Y-%m-%d')::DATE AS dob,
       sex, commune_code, personal_id, old_id, father_name, mother_name
FROM r
""")
db_api = DuckDBAPI(connection=con)
df = db_api.register("people")
settings = SettingsCreator(
    link_type="dedupe_only",
    unique_id_column_name="unique_id",
    blocking_rules_to_generate_predictions=[
        block_on("birth_date", "given_name"),
        # lamsach's pass 7 (birth date, family name, given name's initial, sex).
        block_on("birth_date", "family_name", "sex", "given_initial"),
        # lamsach's pass 2, which pairs on year + names only when a birth date is partial
        # (year or month/year): over all records this rule alone is 586 M pairs at 10 M people.
        "l.birth_year = r.birth_year AND l.given_name = r.given_name"
        " AND l.family_name = r.family_name AND (l.dob IS NULL OR r.dob IS NULL)",
        block_on("personal_id"),
        block_on("old_id"),
        block_on("father_name", "mother_name", "birth_year"),
    ],
    comparisons=[
        cl.JaroWinklerAtThresholds("given_name", [0.92, 0.8]),
        cl.JaroWinklerAtThresholds("family_name", [0.92, 0.8]),
        cl.ExactMatch("middle_name"),
        cl.DateOfBirthComparison("dob", input_is_string=False),
        cl.ExactMatch("sex"),
        cl.ExactMatch("commune_code"),
        cl.ExactMatch("personal_id"),
        cl.ExactMatch("old_id"),
        cl.ExactMatch("father_name"),
        cl.ExactMatch("mother_name"),
    ],
)
linker = Linker(df, settings, log_level=logging.WARNING)
linker.training.estimate_probability_two_random_records_match(
    [block_on("personal_id", "birth_date")], recall=0.7
)
linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
linker.training.estimate_parameters_using_expectation_maximisation(
    block_on("personal_id"), estimate_without_term_frequencies=True
)
linker.training.estimate_parameters_using_expectation_maximisation(
    block_on("given_name", "family_name", "birth_year"), estimate_without_term_frequencies=True
)
pred = linker.inference.predict(threshold_match_probability=0.5)
con.execute(
    f"COPY (SELECT unique_id_l, unique_id_r, match_probability FROM {pred.physical_name}) "
    f"TO '{out}' (FORMAT parquet)"
)
seconds = time.perf_counter() - t0

# Score exactly as `lamsach eval` scores duplicate pairs: unordered resident pairs of one entity.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pair_f1 import score  # noqa: E402

result = score(con, data, out, "unique_id_l", "unique_id_r")
print(json.dumps({"seconds": round(seconds, 3), "pairs_predicted": result["pairs_predicted"],
                  "precision": result["precision"], "recall": result["recall"],
                  "f1": result["f1"]}))
