"""The checks a provincial team would otherwise write as SQL, run by DuckDB over the same
Parquet files lamsach reads: personal-ID structure (id.missing, id.format, id.phone_number,
id.old_cmnd, id.province_code, id.century_sex, id.birth_year), completeness (field.missing)
and households (household.no_head, household.multiple_heads). Findings are written to one
Parquet file, as lamsach writes findings.parquet, and counted per rule.

Usage: python duckdb_checks.py RESIDENTS.parquet ID_PROVINCE_CODES.csv OUT.parquet
Prints one JSON line: {"seconds": ..., "rows": ..., "findings": {rule: count}}.
"""
import json
import sys
import time

import duckdb

residents, codes, out = sys.argv[1:4]
t0 = time.perf_counter()
con = duckdb.connect()
con.execute(f"SET threads = {__import__('os').cpu_count()}")
sql = f"""
COPY (
WITH r AS (
  SELECT record_id, trim(personal_id) AS pid, full_name, birth_date, sex, province_code,
         commune_code, household_id, relation_to_head,
         -- birth year from YYYY-MM-DD, DD/MM/YYYY, MM/YYYY or YYYY
         TRY_CAST(CASE WHEN regexp_full_match(trim(birth_date), '\\d{{4}}(-\\d{{2}}-\\d{{2}})?')
                       THEN left(trim(birth_date), 4)
                       WHEN regexp_full_match(trim(birth_date), '(\\d{{2}}/)?\\d{{2}}/\\d{{4}}')
                       THEN right(trim(birth_date), 4) END AS INTEGER) AS byear,
         CASE WHEN lower(strip_accents(trim(sex))) IN ('nam', 'm', 'male') THEN 'M'
              WHEN lower(strip_accents(trim(sex))) IN ('nu', 'f', 'female') THEN 'F' END AS sx
  FROM read_parquet('{residents}')
),
codes AS (SELECT DISTINCT cccd_prefix_3d AS p FROM read_csv('{codes}', all_varchar = true)),
ids AS (
  SELECT r.*,
    CASE
      WHEN pid IS NULL OR pid = '' THEN 'id.missing'
      WHEN regexp_full_match(pid, '(0[35789]\\d{{8}}|84[35789]\\d{{8}})') THEN 'id.phone_number'
      WHEN regexp_full_match(pid, '\\d{{9}}') THEN 'id.old_cmnd'
      WHEN NOT regexp_full_match(pid, '\\d{{12}}') THEN 'id.format'
    END AS id_class
  FROM r
),
structure AS (
  SELECT record_id, 'id.province_code' AS rule, 'personal_id' AS field
  FROM ids WHERE id_class IS NULL AND left(pid, 3) NOT IN (SELECT p FROM codes)
  UNION ALL
  SELECT record_id, 'id.century_sex', 'personal_id' FROM ids
  WHERE id_class IS NULL AND (
        (sx IS NOT NULL AND (CAST(substr(pid, 4, 1) AS INTEGER) % 2 = 1) <> (sx = 'F'))
     OR (byear BETWEEN 1900 AND 2399
         AND CAST(substr(pid, 4, 1) AS INTEGER) // 2 <> (byear - 1900) // 100))
  UNION ALL
  SELECT record_id, 'id.birth_year', 'personal_id' FROM ids
  WHERE id_class IS NULL AND byear BETWEEN 1900 AND 2399
    AND CAST(substr(pid, 5, 2) AS INTEGER) <> byear % 100
  UNION ALL
  SELECT record_id, id_class, 'personal_id' FROM ids WHERE id_class IS NOT NULL
),
missing AS (
  SELECT record_id, 'field.missing' AS rule, field FROM (
    UNPIVOT (SELECT record_id,
                    coalesce(trim(full_name), '') AS full_name,
                    coalesce(trim(birth_date), '') AS birth_date,
                    coalesce(trim(sex), '') AS sex,
                    coalesce(trim(province_code), '') AS province_code,
                    coalesce(trim(commune_code), '') AS commune_code,
                    coalesce(trim(household_id), '') AS household_id,
                    coalesce(trim(relation_to_head), '') AS relation_to_head
             FROM r)
    ON full_name, birth_date, sex, province_code, commune_code, household_id, relation_to_head
    INTO NAME field VALUE v)
  WHERE v = ''
),
heads AS (
  SELECT household_id,
         count(*) FILTER (WHERE regexp_replace(lower(strip_accents(trim(relation_to_head))),
                                               '\\s+', ' ', 'g') IN ('chu ho', 'chuho', 'ch')) AS n
  FROM r WHERE coalesce(trim(household_id), '') <> '' GROUP BY household_id
),
households AS (
  SELECT r.record_id,
         CASE WHEN h.n = 0 THEN 'household.no_head' ELSE 'household.multiple_heads' END,
         'household_id'
  FROM r JOIN heads h USING (household_id) WHERE h.n <> 1
)
SELECT * FROM structure UNION ALL SELECT * FROM missing UNION ALL SELECT * FROM households
ORDER BY record_id, rule, field
) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
"""
con.execute(sql)
rows = con.execute(f"SELECT count(*) FROM read_parquet('{residents}')").fetchone()[0]
seconds = time.perf_counter() - t0
counts = dict(
    con.execute(f"SELECT rule, count(*) FROM read_parquet('{out}') GROUP BY rule ORDER BY rule")
    .fetchall()
)
print(json.dumps({"seconds": round(seconds, 3), "rows": rows, "findings": counts}))
