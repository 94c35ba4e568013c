"""A held-out register with many records per person, damaged the way real registers are,
written independently of `lamsach generate` (its own name lists, its own noise, its own
random numbers) so that a matcher tuned on one cannot pass the other by its habits.

Usage: python crowd.py OUTDIR [PEOPLE] [SEED]       (default 5 000 people, seed 1)
Writes OUTDIR/residents.parquet (about 10 records a person: 1 + a geometric count, up to 40)
and OUTDIR/truth/entities.parquet, truth/defects.parquet for `lamsach eval`. No personal IDs.

How records are damaged, each independently per record (rates per record):
- names: diacritics lost (whole name typed without accents, 12%); one keystroke wrong,
  dropped, doubled or two letters swapped in one syllable (15%); middle name dropped (8%) or
  a second one added (3%); name written given-name first (3%); a home name ("Tí", "Út")
  for the given name (3%); written in upper case or with doubled spaces (10%, harmless);
- birth date: missing (8%), year only (10%: "1987" or a placeholder 01/01), day and month
  swapped (4%), one digit wrong (5%), off by a year (2%); written as DD/MM/YYYY half the time;
- sex missing (5%); commune: another of the province's communes (30%, people move);
- parents: named on 40% of records, each name itself with a typo at 5%;
- namesakes: 4% of people share the full name and birth date of another person, in the same
  commune half the time, with other parents.
"""
import os
import random
import sys
import unicodedata

import pyarrow as pa
import pyarrow.parquet as pq

FAMILY = [("Nguyễn", 31), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 4), ("Huỳnh", 2),
          ("Phan", 4.5), ("Vũ", 2.5), ("Võ", 1.5), ("Đặng", 2.1), ("Bùi", 2), ("Đỗ", 1.4),
          ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1), ("Lý", 0.5), ("Đinh", 0.6), ("Mai", 0.5),
          ("Trịnh", 0.5), ("Lâm", 0.4), ("Tạ", 0.3), ("Cao", 0.4), ("Lương", 0.3), ("Hà", 0.4),
          ("Đoàn", 0.4), ("Tô", 0.2), ("Chu", 0.2), ("Kiều", 0.1), ("Quách", 0.1), ("Lưu", 0.3)]
MIDDLE_M = ["Văn", "Văn", "Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Xuân", "Công",
            "Ngọc", "Anh", "Tiến", "Bá", "Gia", "Trọng", "Duy", "Hoàng", "Mạnh", "Quốc"]
MIDDLE_F = ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Minh", "Bảo", "Phương",
            "Hồng", "Mỹ", "Diệu", "Khánh", "Hoài", "Thùy", "Lan", "Tường", "Quỳnh", "Mai"]
GIVEN_M = ["Hùng", "Dũng", "Tuấn", "Nam", "Long", "Sơn", "Hải", "Phong", "Thắng", "Trung",
           "Quân", "Khoa", "Huy", "Bình", "Cường", "Đạt", "Hiếu", "Kiên", "Lâm", "Lộc",
           "Mạnh", "Nghĩa", "Phúc", "Quang", "Tài", "Thành", "Toàn", "Tú", "Việt", "Vinh",
           "Đông", "Hòa", "Khánh", "Lực", "Nhân", "Phát", "Thịnh", "Tiến", "Trí", "Vũ",
           "Bảo", "Chiến", "Duy", "Giang", "Hậu", "Khải", "Luân", "Minh", "Nguyên", "Quý"]
GIVEN_F = ["Lan", "Hương", "Hoa", "Mai", "Linh", "Trang", "Hà", "Thảo", "Ngọc", "Yến",
           "Nhung", "Hạnh", "Phương", "Thủy", "Dung", "Oanh", "Vân", "Quyên", "Trâm", "Ánh",
           "Châu", "Diệp", "Giao", "Hằng", "Huyền", "Khuê", "Loan", "My", "Nga", "Nhi",
           "Thư", "Tâm", "Thơ", "Uyên", "Vy", "Xuân", "Bích", "Cúc", "Đào", "Hiền",
           "Hồng", "Kiều", "Liên", "Ly", "Nguyệt", "Quế", "Sương", "Tuyết", "Vi", "Yên"]
HOME = ["Tí", "Tèo", "Út", "Bé", "Cu", "Bin", "Su", "Hai", "Ba", "Tư"]
KEYS = "qwertyuiop asdfghjkl zxcvbnm"


def pick_family(rng):
    names, weights = zip(*FAMILY)
    return rng.choices(names, weights)[0]


def strip_accents(s):
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(c for c in s if not unicodedata.combining(c)))


def neighbour(c, rng):
    rows = KEYS.split()
    for row in rows:
        i = row.find(c.lower())
        if i >= 0:
            j = min(len(row) - 1, max(0, i + rng.choice([-1, 1])))
            return row[j]
    return rng.choice("aeiou")


def keystroke(word, rng):
    if len(word) < 2:
        return word
    i = rng.randrange(len(word))
    kind = rng.random()
    if kind < 0.35:
        return word[:i] + neighbour(word[i], rng) + word[i + 1:]
    if kind < 0.6:
        return word[:i] + word[i + 1:]
    if kind < 0.8:
        return word[:i] + word[i] + word[i:]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def person(rng, pid, communes):
    sex = rng.choice("MF")
    family = pick_family(rng)
    middle = rng.choice(MIDDLE_M if sex == "M" else MIDDLE_F)
    given = rng.choice(GIVEN_M if sex == "M" else GIVEN_F)
    year = rng.randint(1935, 2024)
    dob = (year, rng.randint(1, 12), rng.randint(1, 28))
    father = f"{family} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
    mother = f"{pick_family(rng)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
    return dict(id=pid, sex=sex, family=family, middle=middle, given=given, dob=dob,
                father=father, mother=mother, commune=rng.choice(communes))


def damaged(p, rng, communes):
    family, middles, given = p["family"], [p["middle"]], p["given"]
    if rng.random() < 0.08:
        middles = []
    elif rng.random() < 0.03:
        middles.append(rng.choice(MIDDLE_M if p["sex"] == "M" else MIDDLE_F))
    if rng.random() < 0.03:
        given = rng.choice(HOME)
    parts = [family] + middles + [given]
    if rng.random() < 0.15:
        k = rng.randrange(len(parts))
        parts[k] = keystroke(parts[k], rng)
    if rng.random() < 0.03:
        parts = parts[-1:] + parts[:-1]
    name = " ".join(parts)
    if rng.random() < 0.12:
        name = strip_accents(name)
    if rng.random() < 0.05:
        name = name.upper()
    if rng.random() < 0.05:
        name = name.replace(" ", "  ", 1)

    y, m, d = p["dob"]
    r = rng.random()
    if r < 0.08:
        dob = ""
    elif r < 0.18:
        dob = str(y) if rng.random() < 0.5 else f"{y:04d}-01-01"
    else:
        if rng.random() < 0.04 and d <= 12:
            m, d = d, m
        if rng.random() < 0.02:
            y += rng.choice([-1, 1])
        text = f"{y:04d}{m:02d}{d:02d}"
        if rng.random() < 0.05:
            i = rng.randrange(8)
            text = text[:i] + str(rng.randrange(10)) + text[i + 1:]
        y2, m2, d2 = int(text[:4]), int(text[4:6]), int(text[6:])
        dob = f"{d2:02d}/{m2:02d}/{y2:04d}" if rng.random() < 0.5 else f"{y2:04d}-{m2:02d}-{d2:02d}"
    sex = "" if rng.random() < 0.05 else ("Nam" if p["sex"] == "M" else "Nữ")
    commune = p["commune"] if rng.random() > 0.3 else rng.choice(communes)
    father = mother = ""
    if rng.random() < 0.4:
        father = keystroke(p["father"], rng) if rng.random() < 0.05 else p["father"]
        mother = keystroke(p["mother"], rng) if rng.random() < 0.05 else p["mother"]
    return name, dob, sex, commune, father, mother


def main(out, people=5000, seed=1):
    rng = random.Random(seed)
    # The communes of one province (Bắc Ninh, 24), from the 2025 reference.
    ref = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "reference",
                       "admin", "vn_units_2026-04_3321_wards.csv")
    with open(ref, encoding="utf-8") as f:
        communes = [line.split(",")[0] for line in f.read().splitlines()[1:]
                    if line.split(",")[6] == "24"]
    persons = [person(rng, i, communes) for i in range(people)]
    for p in persons:
        if rng.random() < 0.04:
            other = rng.choice(persons)
            if other is not p and other["sex"] == p["sex"]:
                p.update(family=other["family"], middle=other["middle"], given=other["given"],
                         dob=other["dob"])
                if rng.random() < 0.5:
                    p["commune"] = other["commune"]
    cols = {k: [] for k in ["record_id", "full_name", "birth_date", "sex", "province_code",
                            "commune_code", "household_id", "father_name", "mother_name"]}
    ent = {"source": [], "record_id": [], "entity_id": []}
    n = 0
    for p in persons:
        count = 1
        while count < 40 and rng.random() < 0.9:
            count += 1
        for _ in range(count):
            name, dob, sex, commune, father, mother = damaged(p, rng, communes)
            rid = f"C{n:07d}"
            n += 1
            for k, v in zip(cols, [rid, name, dob, sex, "24", commune, f"H{n:08d}", father,
                                   mother]):
                cols[k].append(v)
            ent["source"].append("residents")
            ent["record_id"].append(rid)
            ent["entity_id"].append(f"P{p['id']:06d}")
    os.makedirs(os.path.join(out, "truth"), exist_ok=True)
    pq.write_table(pa.table(cols), os.path.join(out, "residents.parquet"))
    pq.write_table(pa.table(ent), os.path.join(out, "truth", "entities.parquet"))
    defects = {c: pa.array([], pa.string()) for c in ["source", "record_id", "rule"]}
    pq.write_table(pa.table(defects), os.path.join(out, "truth", "defects.parquet"))


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:4]))
