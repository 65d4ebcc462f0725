//! The standalone offsets file against Java itself: a file written by Java's
//! `ObjectOutputStream` (as Kafka's `FileOffsetBackingStore` writes it) is read by Sluice, and a
//! file written by Sluice is read back by Java's `ObjectInputStream`.
//!
//! Needs `javac` and `java` on PATH; without them the test prints a SKIPPED line and passes.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use sluice_api::connector::OffsetStorageReader;
use sluice_api::data::Value;
use sluice_api::OffsetMap;
use sluice_runtime::offsets::{codec, java, ConnectorOffsetReader, FileOffsetStore, OffsetStore};

const PROGRAM: &str = r#"
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class OffsetsInterop {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("write")) {
            Map<byte[], byte[]> raw = new HashMap<>();
            for (int i = 2; i + 1 < args.length; i += 2) {
                byte[] value = args[i + 1].equals("<null>") ? null : args[i + 1].getBytes(StandardCharsets.UTF_8);
                raw.put(args[i].getBytes(StandardCharsets.UTF_8), value);
            }
            try (ObjectOutputStream os = new ObjectOutputStream(new FileOutputStream(args[1]))) {
                os.writeObject(raw);
            }
        } else {
            try (ObjectInputStream is = new ObjectInputStream(new FileInputStream(args[1]))) {
                @SuppressWarnings("unchecked")
                Map<byte[], byte[]> raw = (Map<byte[], byte[]>) is.readObject();
                List<String> lines = new ArrayList<>();
                for (Map.Entry<byte[], byte[]> e : raw.entrySet()) {
                    lines.add(new String(e.getKey(), StandardCharsets.UTF_8) + "\t"
                        + new String(e.getValue(), StandardCharsets.UTF_8));
                }
                Collections.sort(lines);
                for (String line : lines) System.out.println(line);
            }
        }
    }
}
"#;

/// Compiles the helper; `None` when no JDK is installed.
fn compile(dir: &Path) -> Option<()> {
    if Command::new("javac").arg("-version").output().is_err() {
        println!("SKIPPED: javac not found; the Java offsets interop test did not run");
        eprintln!("SKIPPED: javac not found; the Java offsets interop test did not run");
        return None;
    }
    std::fs::write(dir.join("OffsetsInterop.java"), PROGRAM).unwrap();
    let out = Command::new("javac")
        .arg("-d")
        .arg(dir)
        .arg(dir.join("OffsetsInterop.java"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "javac failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

fn java(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("java")
        .arg("-cp")
        .arg(dir)
        .arg("OffsetsInterop")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "java failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn file_partition(name: &str) -> OffsetMap {
    OffsetMap::new().with("filename", name.to_string())
}

#[tokio::test]
async fn offsets_files_move_between_java_and_sluice() {
    let dir = tempfile::tempdir().unwrap();
    if compile(dir.path()).is_none() {
        return;
    }

    // (a) Java writes, Sluice reads.
    let java_file = dir.path().join("java.offsets");
    let key_a = String::from_utf8(codec::offset_key(
        "local-file-source",
        &file_partition("/tmp/a.txt"),
    ))
    .unwrap();
    let key_b =
        String::from_utf8(codec::offset_key("other", &file_partition("/tmp/b.txt"))).unwrap();
    java(
        dir.path(),
        &[
            "write",
            java_file.to_str().unwrap(),
            &key_a,
            r#"{"position":1024}"#,
            &key_b,
            r#"{"position":7}"#,
            r#"["gone",{"filename":"x"}]"#,
            "<null>",
        ],
    );
    let store = Arc::new(FileOffsetStore::open(&java_file).unwrap());
    assert_eq!(store.len(), 2, "the null value is a deleted offset");
    let reader = ConnectorOffsetReader::new("local-file-source", store.clone());
    let offset = reader.offset(&file_partition("/tmp/a.txt")).unwrap();
    assert_eq!(offset.get("position"), Some(&Value::Int64(1024)));
    assert!(reader.offset(&file_partition("/tmp/b.txt")).is_none());

    // (b) Sluice writes (enough entries to grow the table), Java reads.
    let ours = dir.path().join("sluice.offsets");
    let store = FileOffsetStore::open(&ours).unwrap();
    let mut expected = Vec::new();
    let mut writes = Vec::new();
    for i in 0..20 {
        let key = codec::offset_key("src", &file_partition(&format!("/data/f{i:02}.txt")));
        let value = codec::offset_value(&OffsetMap::new().with("position", i as i64 * 100));
        expected.push(format!(
            "{}\t{}",
            String::from_utf8(key.clone()).unwrap(),
            String::from_utf8(value.clone()).unwrap()
        ));
        writes.push((key, Some(value)));
    }
    store.set(writes).await.unwrap();
    // A tombstone removes one entry before Java looks.
    let removed = codec::offset_key("src", &file_partition("/data/f03.txt"));
    store.set(vec![(removed, None)]).await.unwrap();
    expected.remove(3);
    expected.sort();
    let printed = java(dir.path(), &["read", ours.to_str().unwrap()]);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );

    // Byte for byte, our writer matches Java's for maps whose order is fixed.
    let empty = dir.path().join("empty.offsets");
    java(dir.path(), &["write", empty.to_str().unwrap()]);
    assert!(FileOffsetStore::open(&empty).unwrap().is_empty());
    assert_eq!(std::fs::read(&empty).unwrap(), java::write_hash_map(&[]));
    let single = dir.path().join("single.offsets");
    java(
        dir.path(),
        &[
            "write",
            single.to_str().unwrap(),
            &key_a,
            r#"{"position":1}"#,
        ],
    );
    assert_eq!(
        std::fs::read(&single).unwrap(),
        java::write_hash_map(&[(key_a.as_bytes(), br#"{"position":1}"#.as_slice())])
    );
}
