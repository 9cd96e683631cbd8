//! Where a global lives and how a struct is laid out, as DWARF describes them.

/// Where a global variable lives in linear memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// No variable of that name in the DWARF (or no DWARF).
    Absent,
    /// Declared without `DW_AT_location`: the program never uses it.
    OptimisedAway,
    /// One `DW_OP_addr`.
    Address(u32),
    /// A composite (`DW_OP_addr a DW_OP_piece n …`): each part of the value at its own
    /// address.
    Pieces(Vec<Piece>),
    /// A location this reader does not evaluate (location list, register, …), described.
    Unsupported(String),
}

/// One `DW_OP_piece` of a composite location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Byte offset of this part within the variable's value.
    pub offset: u32,
    /// Its size in bytes.
    pub size: u32,
    /// Where it lives; `None` for a piece with no location (that part is optimised away).
    pub address: Option<u32>,
}

impl Location {
    /// The address of bytes `offset..offset + size` of the variable, when they are stored
    /// contiguously (one piece must hold them all).
    pub fn address_of(&self, offset: u32, size: u32) -> Option<u32> {
        match self {
            Location::Address(address) => address.checked_add(offset),
            Location::Pieces(pieces) => pieces.iter().find_map(|piece| {
                let end = offset.checked_add(size)?;
                let piece_end = piece.offset.checked_add(piece.size)?;
                if piece.offset <= offset && end <= piece_end {
                    piece.address?.checked_add(offset - piece.offset)
                } else {
                    None
                }
            }),
            _ => None,
        }
    }

    /// Short text for reports: `0x1234`, `pieces 0+4@0x10 4+4@0x20`, `optimised away`.
    pub fn describe(&self) -> String {
        match self {
            Location::Absent => "absent".into(),
            Location::OptimisedAway => "optimised away".into(),
            Location::Address(address) => format!("{address:#x}"),
            Location::Pieces(pieces) => {
                let parts: Vec<String> = pieces
                    .iter()
                    .map(|p| match p.address {
                        Some(address) => format!("{}+{}@{address:#x}", p.offset, p.size),
                        None => format!("{}+{}@none", p.offset, p.size),
                    })
                    .collect();
                format!("pieces {}", parts.join(" "))
            }
            Location::Unsupported(what) => format!("unsupported location ({what})"),
        }
    }
}

/// A struct type flattened: every member, nested struct members included, by dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructLayout {
    /// The type's name, e.g. `internal/task.Task`.
    pub name: String,
    /// `DW_AT_byte_size`, when given.
    pub size: Option<u32>,
    /// Members in declaration order, parents before their nested members
    /// (`state`, `state.entry`, …).
    pub fields: Vec<Field>,
}

/// One (possibly nested) struct member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Dotted path from the struct, e.g. `state.stackState.asyncifysp`.
    pub path: String,
    /// Byte offset from the start of the outer struct.
    pub offset: u32,
    /// Size in bytes of the member's type, when DWARF gives one.
    pub size: Option<u32>,
}

impl StructLayout {
    /// The field at `path`, or else the only field whose path ends in `.path` (so
    /// `asyncifysp` finds `state.stackState.asyncifysp` whatever the nesting a TinyGo
    /// version uses).
    pub fn field(&self, path: &str) -> Option<&Field> {
        if let Some(field) = self.fields.iter().find(|f| f.path == path) {
            return Some(field);
        }
        let suffix = format!(".{path}");
        let mut matches = self.fields.iter().filter(|f| f.path.ends_with(&suffix));
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    }

    /// The offset of [`StructLayout::field`].
    pub fn offset(&self, path: &str) -> Option<u32> {
        self.field(path).map(|f| f.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_resolve_only_whole_parts() {
        let location = Location::Pieces(vec![
            Piece {
                offset: 0,
                size: 4,
                address: Some(0x100),
            },
            Piece {
                offset: 4,
                size: 4,
                address: Some(0x200),
            },
            Piece {
                offset: 8,
                size: 4,
                address: None,
            },
        ]);
        assert_eq!(location.address_of(0, 4), Some(0x100));
        assert_eq!(location.address_of(4, 4), Some(0x200));
        assert_eq!(location.address_of(2, 4), None, "straddles two pieces");
        assert_eq!(location.address_of(8, 4), None, "piece without location");
        assert_eq!(location.address_of(12, 4), None);
        assert_eq!(Location::Address(0x10).address_of(4, 4), Some(0x14));
        assert_eq!(Location::Address(u32::MAX).address_of(4, 4), None);
        assert_eq!(Location::OptimisedAway.address_of(0, 4), None);
    }

    #[test]
    fn fields_are_found_by_path_or_unique_suffix() {
        let layout = StructLayout {
            name: "T".into(),
            size: Some(8),
            fields: ["a", "s", "s.x", "t", "t.x", "s.y"]
                .iter()
                .enumerate()
                .map(|(i, path)| Field {
                    path: path.to_string(),
                    offset: i as u32,
                    size: None,
                })
                .collect(),
        };
        assert_eq!(layout.offset("s.x"), Some(2));
        assert_eq!(layout.offset("y"), Some(5));
        assert_eq!(layout.offset("x"), None, "ambiguous");
        assert_eq!(layout.offset("z"), None);
    }
}
