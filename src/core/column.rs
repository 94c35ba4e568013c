//! The canonical columns of the input schemas (SPEC §2), each with its name, its Vietnamese
//! label for fix lists and messages, and its kind; and the kinds of input source with the
//! columns each requires.

/// What a column holds, as far as reading and echoing it is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// The row's key within its file.
    Key,
    /// Digits whose leading zeros matter (IDs, codes, phone numbers): stored as numbers by a
    /// spreadsheet, they lose them.
    Digits,
    /// A person's name.
    Name,
    /// A date.
    Date,
    /// Any other text.
    Text,
}

macro_rules! columns {
    ($($variant:ident => ($name:literal, $label:literal, $kind:ident, $reads:literal)),+ $(,)?) => {
        /// A canonical column. The order is the order of SPEC §2 (and of `filled_fields`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Column { $($variant),+ }

        impl Column {
            /// Every canonical column, in order.
            pub const ALL: &'static [Column] = &[$(Column::$variant),+];

            /// The canonical name (as in the input schemas and in outputs' `field`).
            pub fn name(self) -> &'static str {
                match self { $(Column::$variant => $name),+ }
            }

            /// The Vietnamese label, for fix lists and messages.
            pub fn label_vi(self) -> &'static str {
                match self { $(Column::$variant => $label),+ }
            }

            pub fn kind(self) -> ColumnKind {
                match self { $(Column::$variant => ColumnKind::$kind),+ }
            }

            /// Whether the rules or the matcher read this column of any source that has it.
            pub fn engine_reads(self) -> bool {
                match self { $(Column::$variant => $reads),+ }
            }

            pub fn from_name(name: &str) -> Option<Column> {
                match name { $($name => Some(Column::$variant),)+ _ => None }
            }
        }
    };
}

columns! {
    RecordId => ("record_id", "Mã bản ghi", Key, true),
    PersonalId => ("personal_id", "Số định danh cá nhân", Digits, true),
    OldId => ("old_id", "Số CMND", Digits, true),
    FullName => ("full_name", "Họ và tên", Name, true),
    BirthDate => ("birth_date", "Ngày sinh", Date, true),
    Sex => ("sex", "Giới tính", Text, true),
    ProvinceCode => ("province_code", "Mã tỉnh", Digits, true),
    CommuneCode => ("commune_code", "Mã xã", Digits, true),
    HouseholdId => ("household_id", "Mã hộ", Text, true),
    RelationToHead => ("relation_to_head", "Quan hệ với chủ hộ", Text, true),
    Ethnicity => ("ethnicity", "Dân tộc", Text, true),
    Nationality => ("nationality", "Quốc tịch", Text, false),
    Religion => ("religion", "Tôn giáo", Text, true),
    BirthPlace => ("birth_place", "Nơi sinh", Text, true),
    Hometown => ("hometown", "Quê quán", Text, true),
    Address => ("address", "Địa chỉ", Text, true),
    FatherName => ("father_name", "Họ tên cha", Name, true),
    MotherName => ("mother_name", "Họ tên mẹ", Name, true),
    DeathDate => ("death_date", "Ngày mất", Date, true),
    Phone => ("phone", "Số điện thoại", Digits, false),
    DoseDate => ("dose_date", "Ngày tiêm", Date, true),
    DoseNumber => ("dose_number", "Mũi tiêm", Text, false),
    Vaccine => ("vaccine", "Vắc xin", Text, false),
    Facility => ("facility", "Cơ sở tiêm", Text, false),
    SocialInsuranceCode => ("social_insurance_code", "Mã số BHXH", Digits, true),
    HealthCardNo => ("health_card_no", "Mã thẻ BHYT", Text, true),
    Employer => ("employer", "Đơn vị", Text, false),
    EventDate => ("event_date", "Ngày sự kiện", Date, true),
    RegistrationDate => ("registration_date", "Ngày đăng ký", Date, true),
    ResidenceType => ("residence_type", "Loại cư trú", Text, true),
    TempCommuneCode => ("temp_commune_code", "Mã xã tạm trú", Digits, true),
    DataSource => ("data_source", "Nguồn dữ liệu", Text, true),
}

impl Column {
    /// Number of canonical columns.
    pub const COUNT: usize = Column::ALL.len();

    /// Position in [`Column::ALL`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Whether `name` is a canonical column. Any other column of an input file is an unknown
/// extra column: read as it is and carried through, under its own header, to the output rows
/// that echo its record (SPEC §2).
pub fn is_canonical(name: &str) -> bool {
    Column::from_name(name).is_some()
}

/// The Vietnamese label of a finding's field given by name ("" for none or an unknown name).
pub fn label_of(name: &str) -> &'static str {
    Column::from_name(name).map_or("", Column::label_vi)
}

/// What kind of input a file is; decides required columns and which rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Residents,
    Vaccination,
    Insurance,
    /// Any other linked extract (`--extract NAME=FILE`: prisoners, industrial-zone workers…).
    Extract,
    CmndMap,
    Deaths,
    /// Birth registrations of the civil-status system (`--births`, hộ tịch khai sinh).
    Births,
}

impl SourceKind {
    /// Columns that must be present (after header mapping) or the file is rejected.
    pub fn required_columns(self) -> &'static [Column] {
        use Column::*;
        match self {
            SourceKind::Residents => &[
                RecordId,
                FullName,
                BirthDate,
                Sex,
                ProvinceCode,
                CommuneCode,
            ],
            SourceKind::Vaccination | SourceKind::Insurance | SourceKind::Extract => {
                &[RecordId, FullName, BirthDate]
            }
            SourceKind::CmndMap => &[OldId, PersonalId],
            SourceKind::Deaths => &[PersonalId, FullName, BirthDate, DeathDate],
            SourceKind::Births => &[RecordId, FullName, BirthDate, RegistrationDate],
        }
    }

    /// Fields reported by `field.missing` when empty, unless the config overrides the list.
    pub fn default_expected_fields(self) -> &'static [Column] {
        use Column::*;
        match self {
            SourceKind::Residents => &[
                RecordId,
                FullName,
                BirthDate,
                Sex,
                ProvinceCode,
                CommuneCode,
                HouseholdId,
                RelationToHead,
            ],
            SourceKind::Vaccination => &[RecordId, FullName, BirthDate, DoseDate],
            SourceKind::Insurance | SourceKind::Extract => &[RecordId, FullName, BirthDate],
            SourceKind::Births => &[RecordId, FullName, BirthDate, RegistrationDate],
            SourceKind::CmndMap | SourceKind::Deaths => &[],
        }
    }

    /// Linked extracts are checked against the residents and may be linked to them.
    pub fn is_linked(self) -> bool {
        matches!(
            self,
            SourceKind::Vaccination | SourceKind::Insurance | SourceKind::Extract
        )
    }

    /// Whether outputs echo this source's records (and so carry its extra columns through).
    pub fn is_echoed(self) -> bool {
        !matches!(self, SourceKind::CmndMap | SourceKind::Deaths)
    }

    /// The column that dates a row's event: the dose date of a vaccination row, else the
    /// extract's event_date.
    pub fn event_column(self) -> Column {
        if self == SourceKind::Vaccination {
            Column::DoseDate
        } else {
            Column::EventDate
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Residents => "residents",
            SourceKind::Vaccination => "vaccination",
            SourceKind::Insurance => "insurance",
            SourceKind::Extract => "extract",
            SourceKind::CmndMap => "cmnd-map",
            SourceKind::Deaths => "deaths",
            SourceKind::Births => "births",
        }
    }

    /// Whether the engine ever looks at this column of a source of this kind: the readers
    /// decode only these, plus the fields configured for `field.missing`.
    pub fn reads(self, column: Column) -> bool {
        column.engine_reads()
            || self.required_columns().contains(&column)
            || self.default_expected_fields().contains(&column)
    }
}

/// A source as people read it: dân cư, tiêm chủng, BHXH/BHYT, or the extract's own name.
pub fn source_label_vi(name: &str, kind: SourceKind) -> std::borrow::Cow<'_, str> {
    match kind {
        SourceKind::Residents => "Dân cư".into(),
        SourceKind::Vaccination => "Tiêm chủng".into(),
        SourceKind::Insurance => "BHXH/BHYT".into(),
        SourceKind::Births => "Khai sinh".into(),
        _ => name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A column the engine reads is a known column with a label: a config may map a header to
    /// it, and it is never mistaken for an unknown extra column and carried through twice.
    #[test]
    fn every_column_is_named_labelled_and_found_by_name() {
        for (i, c) in Column::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
            assert!(!c.label_vi().is_empty(), "{c:?}");
            assert_eq!(Column::from_name(c.name()), Some(*c));
            assert!(is_canonical(c.name()));
        }
        assert_eq!(label_of(""), "");
        assert_eq!(label_of("full_name"), "Họ và tên");
    }
}
