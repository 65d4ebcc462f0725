//! The Java serialization of a `java.util.HashMap<byte[], byte[]>`, the format of Kafka
//! Connect's standalone offsets file, so offsets move between a Java worker and Sluice.
//!
//! Only what an `ObjectOutputStream` writes for such a map is understood: the stream header,
//! one `HashMap` object (class descriptor with its `loadFactor` and `threshold` fields and the
//! custom data block holding capacity and size), then each entry's key and value as a `byte[]`
//! (or null), with back-references to earlier class descriptors and arrays.

/// Stream magic and version.
const MAGIC: [u8; 4] = [0xAC, 0xED, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_BLOCKDATALONG: u8 = 0x7A;
const BASE_HANDLE: u32 = 0x7E_0000;
const SC_WRITE_METHOD: u8 = 0x01;
const SC_SERIALIZABLE: u8 = 0x02;
const HASH_MAP: &str = "java.util.HashMap";
const HASH_MAP_UID: u64 = 362_498_820_763_181_265;
const BYTE_ARRAY: &str = "[B";
const BYTE_ARRAY_UID: u64 = 0xACF3_17F8_0608_54E0;

/// One map entry; a `None` value is a Java null.
pub type RawEntry = (Vec<u8>, Option<Vec<u8>>);

/// Serializes entries as a Java `HashMap<byte[], byte[]>` in `ObjectOutputStream` format.
pub fn write_hash_map(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let size = entries.len();
    // HashMap's table grows by doubling from 16 while size exceeds 3/4 of it.
    let mut capacity: u32 = 16;
    while size as u64 > u64::from(capacity) * 3 / 4 {
        capacity *= 2;
    }
    // An empty map written after `new HashMap<>()` has no table yet: threshold 0.
    let threshold: u32 = if size == 0 { 0 } else { capacity * 3 / 4 };
    let payload: usize = entries.iter().map(|(k, v)| k.len() + v.len() + 20).sum();
    let mut out = Vec::with_capacity(64 + payload);
    out.extend_from_slice(&MAGIC);
    out.push(TC_OBJECT);
    out.push(TC_CLASSDESC);
    write_utf(&mut out, HASH_MAP);
    out.extend_from_slice(&HASH_MAP_UID.to_be_bytes());
    out.push(SC_WRITE_METHOD | SC_SERIALIZABLE);
    out.extend_from_slice(&2u16.to_be_bytes());
    out.push(b'F');
    write_utf(&mut out, "loadFactor");
    out.push(b'I');
    write_utf(&mut out, "threshold");
    out.push(TC_ENDBLOCKDATA);
    out.push(TC_NULL);
    // Handles: 0 = HashMap class descriptor, 1 = the map itself.
    out.extend_from_slice(&0.75f32.to_be_bytes());
    out.extend_from_slice(&threshold.to_be_bytes());
    out.push(TC_BLOCKDATA);
    out.push(8);
    out.extend_from_slice(&capacity.to_be_bytes());
    out.extend_from_slice(&(size as u32).to_be_bytes());
    let mut byte_array_desc: Option<u32> = None;
    let mut next_handle = BASE_HANDLE + 2;
    for (key, value) in entries {
        for array in [key, value] {
            out.push(TC_ARRAY);
            match byte_array_desc {
                Some(handle) => {
                    out.push(TC_REFERENCE);
                    out.extend_from_slice(&handle.to_be_bytes());
                }
                None => {
                    out.push(TC_CLASSDESC);
                    write_utf(&mut out, BYTE_ARRAY);
                    out.extend_from_slice(&BYTE_ARRAY_UID.to_be_bytes());
                    out.push(SC_SERIALIZABLE);
                    out.extend_from_slice(&0u16.to_be_bytes());
                    out.push(TC_ENDBLOCKDATA);
                    out.push(TC_NULL);
                    byte_array_desc = Some(next_handle);
                    next_handle += 1;
                }
            }
            next_handle += 1; // the array itself
            out.extend_from_slice(&(array.len() as u32).to_be_bytes());
            out.extend_from_slice(array);
        }
    }
    out.push(TC_ENDBLOCKDATA);
    out
}

fn write_utf(out: &mut Vec<u8>, s: &str) {
    // Class and field names here are ASCII, where modified UTF-8 equals UTF-8.
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Why a stream is not a serialized `HashMap<byte[], byte[]>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {position})")]
pub struct JavaFormatError {
    /// What was expected.
    pub message: String,
    /// Byte offset in the stream.
    pub position: usize,
}

/// What a stream handle refers to.
#[derive(Debug, Clone)]
enum Handle {
    ClassDesc(ClassDesc),
    Array(Vec<u8>),
    Other,
}

#[derive(Debug, Clone)]
struct ClassDesc {
    name: String,
    flags: u8,
    /// Field type codes and names, in stream order.
    fields: Vec<(u8, String)>,
    /// Handle of the superclass descriptor, if any.
    super_desc: Option<Box<ClassDesc>>,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    handles: Vec<Handle>,
}

/// Reads a Java-serialized `HashMap<byte[], byte[]>` into its entries.
pub fn read_hash_map(data: &[u8]) -> Result<Vec<RawEntry>, JavaFormatError> {
    let mut r = Reader {
        data,
        pos: 0,
        handles: Vec::new(),
    };
    if r.take(4)? != MAGIC {
        return Err(r.error_at(0, "not a Java serialization stream (bad magic number)"));
    }
    let tc = r.u8()?;
    if tc != TC_OBJECT {
        return Err(r.error(format!(
            "expected a serialized object, found type code 0x{tc:02X}"
        )));
    }
    let desc = r.class_desc()?;
    if desc.name != HASH_MAP {
        return Err(r.error(format!("expected a {HASH_MAP}, found a {}", desc.name)));
    }
    r.handles.push(Handle::Other); // the map object
                                   // Superclass data first (none for HashMap), then HashMap's fields.
    let mut chain = Vec::new();
    let mut d = Some(&desc);
    while let Some(c) = d {
        chain.push(c);
        d = c.super_desc.as_deref();
    }
    for c in chain.iter().rev() {
        r.field_values(c)?;
        if c.flags & SC_WRITE_METHOD != 0 && c.name != HASH_MAP {
            r.skip_annotation()?;
        }
    }
    // HashMap.writeObject's block: capacity and size.
    let block = r.block_data()?;
    if block.len() < 8 {
        return Err(r.error("HashMap data block is shorter than 8 bytes"));
    }
    let size = u32::from_be_bytes([block[4], block[5], block[6], block[7]]) as usize;
    let mut entries = Vec::with_capacity(size.min(1 << 16));
    for _ in 0..size {
        let key = r.byte_array_or_null()?;
        let value = r.byte_array_or_null()?;
        match key {
            Some(k) => entries.push((k, value)),
            None => tracing::warn!("Ignoring an offsets file entry with a null key."),
        }
    }
    if r.u8()? != TC_ENDBLOCKDATA {
        return Err(r.error("expected the end of the HashMap data"));
    }
    Ok(entries)
}

impl Reader<'_> {
    fn error(&self, message: impl Into<String>) -> JavaFormatError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, position: usize, message: impl Into<String>) -> JavaFormatError {
        JavaFormatError {
            message: message.into(),
            position,
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], JavaFormatError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| self.error("unexpected end of data"))?;
        let slice = &self.data[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, JavaFormatError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, JavaFormatError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, JavaFormatError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self) -> Result<String, JavaFormatError> {
        let len = self.u16()? as usize;
        let bytes = self.take(len)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn handle(&self, handle: u32) -> Result<&Handle, JavaFormatError> {
        handle
            .checked_sub(BASE_HANDLE)
            .and_then(|i| self.handles.get(i as usize))
            .ok_or_else(|| self.error(format!("reference to unknown handle 0x{handle:08X}")))
    }

    /// A class descriptor: new, a reference to an earlier one, or null.
    fn class_desc_or_null(&mut self) -> Result<Option<ClassDesc>, JavaFormatError> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => {
                let h = self.u32()?;
                match self.handle(h)? {
                    Handle::ClassDesc(d) => Ok(Some(d.clone())),
                    _ => Err(self.error("reference is not to a class descriptor")),
                }
            }
            TC_CLASSDESC => {
                let name = self.utf()?;
                let _uid = self.take(8)?;
                let index = self.handles.len();
                self.handles.push(Handle::Other);
                let flags = self.u8()?;
                let count = self.u16()?;
                let mut fields = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let code = self.u8()?;
                    let field_name = self.utf()?;
                    if code == b'L' || code == b'[' {
                        return Err(self.error(format!(
                            "class {name} has an object field '{field_name}', which this reader does not support"
                        )));
                    }
                    fields.push((code, field_name));
                }
                self.skip_annotation()?;
                let super_desc = self.class_desc_or_null()?.map(Box::new);
                let desc = ClassDesc {
                    name,
                    flags,
                    fields,
                    super_desc,
                };
                self.handles[index] = Handle::ClassDesc(desc.clone());
                Ok(Some(desc))
            }
            tc => Err(self.error(format!(
                "expected a class descriptor, found type code 0x{tc:02X}"
            ))),
        }
    }

    fn class_desc(&mut self) -> Result<ClassDesc, JavaFormatError> {
        self.class_desc_or_null()?
            .ok_or_else(|| self.error("expected a class descriptor, found null"))
    }

    /// Skips block data up to the end marker of class annotations or custom data.
    fn skip_annotation(&mut self) -> Result<(), JavaFormatError> {
        loop {
            match self.u8()? {
                TC_ENDBLOCKDATA => return Ok(()),
                TC_BLOCKDATA => {
                    let n = self.u8()? as usize;
                    self.take(n)?;
                }
                TC_BLOCKDATALONG => {
                    let n = self.u32()? as usize;
                    self.take(n)?;
                }
                tc => {
                    return Err(self.error(format!(
                        "unsupported content 0x{tc:02X} in class annotation"
                    )))
                }
            }
        }
    }

    fn field_values(&mut self, desc: &ClassDesc) -> Result<(), JavaFormatError> {
        for (code, name) in &desc.fields {
            let size = match code {
                b'B' | b'Z' => 1,
                b'C' | b'S' => 2,
                b'I' | b'F' => 4,
                b'J' | b'D' => 8,
                _ => {
                    return Err(self.error(format!(
                        "unknown type code '{}' of field {name}",
                        char::from(*code)
                    )))
                }
            };
            self.take(size)?;
        }
        Ok(())
    }

    fn block_data(&mut self) -> Result<Vec<u8>, JavaFormatError> {
        match self.u8()? {
            TC_BLOCKDATA => {
                let n = self.u8()? as usize;
                Ok(self.take(n)?.to_vec())
            }
            TC_BLOCKDATALONG => {
                let n = self.u32()? as usize;
                Ok(self.take(n)?.to_vec())
            }
            tc => Err(self.error(format!("expected a data block, found type code 0x{tc:02X}"))),
        }
    }

    fn byte_array_or_null(&mut self) -> Result<Option<Vec<u8>>, JavaFormatError> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => {
                let h = self.u32()?;
                match self.handle(h)? {
                    Handle::Array(a) => Ok(Some(a.clone())),
                    _ => Err(self.error("reference is not to a byte array")),
                }
            }
            TC_ARRAY => {
                let desc = self.class_desc()?;
                if desc.name != BYTE_ARRAY {
                    return Err(self.error(format!(
                        "expected a byte[] (class [B), found an array of class {}",
                        desc.name
                    )));
                }
                let len = self.u32()? as usize;
                let bytes = self.take(len)?.to_vec();
                self.handles.push(Handle::Array(bytes.clone()));
                Ok(Some(bytes))
            }
            tc => Err(self.error(format!("expected a byte[], found type code 0x{tc:02X}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stream of an empty `new HashMap<byte[], byte[]>()`, as Java 17 writes it.
    const EMPTY: &[u8] = &[
        0xAC, 0xED, 0x00, 0x05, // magic, version
        0x73, 0x72, // TC_OBJECT, TC_CLASSDESC
        0x00, 0x11, b'j', b'a', b'v', b'a', b'.', b'u', b't', b'i', b'l', b'.', b'H', b'a', b's',
        b'h', b'M', b'a', b'p', // "java.util.HashMap"
        0x05, 0x07, 0xDA, 0xC1, 0xC3, 0x16, 0x60, 0xD1, // serialVersionUID
        0x03, 0x00, 0x02, // flags, 2 fields
        b'F', 0x00, 0x0A, b'l', b'o', b'a', b'd', b'F', b'a', b'c', b't', b'o', b'r', //
        b'I', 0x00, 0x09, b't', b'h', b'r', b'e', b's', b'h', b'o', b'l', b'd', //
        0x78, 0x70, // end of annotations, no superclass
        0x3F, 0x40, 0x00, 0x00, // loadFactor 0.75
        0x00, 0x00, 0x00, 0x00, // threshold 0
        0x77, 0x08, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, // capacity 16, size 0
        0x78,
    ];

    #[test]
    fn empty_map_bytes() {
        assert_eq!(write_hash_map(&[]), EMPTY);
        assert!(read_hash_map(EMPTY).unwrap().is_empty());
    }

    #[test]
    fn two_entries_bytes() {
        let out = write_hash_map(&[(b"k1", b"v"), (b"k2", b"")]);
        let header_end = EMPTY.len() - 1 - 10; // before the block data
        assert_eq!(&out[..header_end - 4], &EMPTY[..header_end - 4]);
        let rest = &out[header_end - 4..];
        let expected: &[u8] = &[
            0x00, 0x00, 0x00, 0x0C, // threshold 12
            0x77, 0x08, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x02, // capacity 16, size 2
            0x75, 0x72, 0x00, 0x02, b'[', b'B', // TC_ARRAY, TC_CLASSDESC "[B"
            0xAC, 0xF3, 0x17, 0xF8, 0x06, 0x08, 0x54, 0xE0, 0x02, 0x00, 0x00, 0x78, 0x70, //
            0x00, 0x00, 0x00, 0x02, b'k', b'1', // handle 0x7E0003
            0x75, 0x71, 0x00, 0x7E, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, b'v', //
            0x75, 0x71, 0x00, 0x7E, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, b'k', b'2', //
            0x75, 0x71, 0x00, 0x7E, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, //
            0x78,
        ];
        assert_eq!(rest, expected);
        assert_eq!(
            read_hash_map(&out).unwrap(),
            vec![
                (b"k1".to_vec(), Some(b"v".to_vec())),
                (b"k2".to_vec(), Some(Vec::new()))
            ]
        );
    }

    #[test]
    fn capacity_grows_past_three_quarters() {
        let keys: Vec<Vec<u8>> = (0..13u8).map(|i| vec![i]).collect();
        let entries: Vec<(&[u8], &[u8])> =
            keys.iter().map(|k| (k.as_slice(), k.as_slice())).collect();
        let out = write_hash_map(&entries);
        let block = EMPTY.len() - 1 - 10;
        assert_eq!(&out[block - 4..block], &24u32.to_be_bytes()); // threshold
        assert_eq!(&out[block + 2..block + 6], &32u32.to_be_bytes()); // capacity
        assert_eq!(read_hash_map(&out).unwrap().len(), 13);
    }

    #[test]
    fn references_to_arrays_and_null_values() {
        // key "a" -> null, key (reference to the first array) -> "b"
        let mut data = EMPTY[..EMPTY.len() - 11].to_vec();
        data.extend_from_slice(&[0x77, 0x08, 0, 0, 0, 0x10, 0, 0, 0, 2]);
        data.extend_from_slice(&[0x75, 0x72, 0x00, 0x02, b'[', b'B']);
        data.extend_from_slice(&BYTE_ARRAY_UID.to_be_bytes());
        data.extend_from_slice(&[0x02, 0x00, 0x00, 0x78, 0x70, 0, 0, 0, 1, b'a']);
        data.push(TC_NULL);
        data.extend_from_slice(&[0x71, 0x00, 0x7E, 0x00, 0x03]);
        data.extend_from_slice(&[0x75, 0x71, 0x00, 0x7E, 0x00, 0x02, 0, 0, 0, 1, b'b']);
        data.push(0x78);
        assert_eq!(
            read_hash_map(&data).unwrap(),
            vec![(b"a".to_vec(), None), (b"a".to_vec(), Some(b"b".to_vec()))]
        );
    }

    #[test]
    fn other_content_is_rejected() {
        assert!(read_hash_map(b"{\"a\":1}")
            .unwrap_err()
            .message
            .contains("magic"));
        let truncated = &write_hash_map(&[(b"k", b"v")])[..60];
        assert!(read_hash_map(truncated)
            .unwrap_err()
            .message
            .contains("unexpected end"));
        let mut other_class = EMPTY.to_vec();
        other_class[18] = b'X'; // java.util.HashMap -> java.util.XashMap
        assert!(read_hash_map(&other_class)
            .unwrap_err()
            .message
            .contains("java.util.XashMap"));
    }
}
