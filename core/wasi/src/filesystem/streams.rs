//! The streams `read-via-stream`, `write-via-stream` and `append-via-stream` hand out: each
//! shares the file's inode and keeps its own position, so several streams on one file do not
//! interfere (as the WIT asks). Memory never blocks, so they are always ready.

use super::error::ErrorCode;
use super::memfs::{InodeRef, Timestamp};
use crate::{HostInputStream, HostOutputStream, Platform, StreamError};

/// Bytes a file output stream accepts per `check-write` (wasmtime uses the same 1 MiB).
pub(crate) const WRITE_PERMIT: u64 = 1 << 20;

/// A read stream over a file, from a position.
pub(crate) struct FileReader {
    inode: InodeRef,
    position: u64,
}

impl FileReader {
    pub(crate) fn new(inode: InodeRef, position: u64) -> FileReader {
        FileReader { inode, position }
    }
}

impl HostInputStream for FileReader {
    fn read(&mut self, len: u64) -> Result<Vec<u8>, StreamError> {
        let (bytes, _) = self
            .inode
            .borrow()
            .read(self.position, len)
            .map_err(|code| StreamError::LastOperationFailed(code.stream_message("read")))?;
        // At the end a file stream is done: `closed`, as wasmtime's file streams report.
        if bytes.is_empty() && len > 0 {
            return Err(StreamError::Closed);
        }
        self.position += bytes.len() as u64;
        Ok(bytes)
    }

    fn ready(&self) -> bool {
        true
    }
}

/// Where a file output stream writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// At this offset, advancing.
    At(u64),
    /// Always at the current end of the file.
    Append,
}

/// A write or append stream over a file.
pub(crate) struct FileWriter {
    inode: InodeRef,
    mode: Mode,
    /// Set by a failed write: wasi:io says the stream is closed after `last-operation-failed`.
    closed: bool,
}

impl FileWriter {
    /// A stream writing from `position` on.
    pub(crate) fn at(inode: InodeRef, position: u64) -> FileWriter {
        FileWriter {
            inode,
            mode: Mode::At(position),
            closed: false,
        }
    }

    /// A stream appending to the end.
    pub(crate) fn append(inode: InodeRef) -> FileWriter {
        FileWriter {
            inode,
            mode: Mode::Append,
            closed: false,
        }
    }

    fn fail(&mut self, code: ErrorCode, what: &str) -> StreamError {
        self.closed = true;
        StreamError::LastOperationFailed(code.stream_message(what))
    }
}

impl HostOutputStream for FileWriter {
    fn check_write(&mut self) -> Result<u64, StreamError> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        Ok(WRITE_PERMIT)
    }

    fn write(&mut self, platform: &mut dyn Platform, bytes: &[u8]) -> Result<(), StreamError> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        let now = Timestamp::from(platform.wall_now());
        let result = match self.mode {
            Mode::At(position) => self.inode.borrow_mut().write(position, bytes, now),
            Mode::Append => self.inode.borrow_mut().append(bytes, now).map(|_| 0),
        };
        match result {
            Ok(_) => {
                if let Mode::At(position) = &mut self.mode {
                    *position += bytes.len() as u64;
                }
                Ok(())
            }
            Err(code) => {
                let what = format!("writing {} bytes", bytes.len());
                Err(self.fail(code, &what))
            }
        }
    }

    fn flush(&mut self, _: &mut dyn Platform) -> Result<(), StreamError> {
        // Writes land in the tree at once; there is nothing buffered to flush.
        if self.closed {
            return Err(StreamError::Closed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::memfs::{MemFs, MAX_FILE_SIZE};
    use crate::testing::FakePlatform;

    fn file(contents: &[u8]) -> InodeRef {
        let mut fs = MemFs::new(Timestamp::default());
        let inode = fs.new_file(Timestamp::default());
        inode
            .borrow_mut()
            .write(0, contents, Timestamp::default())
            .unwrap();
        inode
    }

    #[test]
    fn reader_reads_from_its_position_then_closes() {
        let inode = file(b"abcdef");
        let mut reader = FileReader::new(inode.clone(), 2);
        assert_eq!(reader.read(3).unwrap(), b"cde");
        assert_eq!(
            reader.read(0).unwrap(),
            b"",
            "a zero-length read is not the end"
        );
        assert_eq!(reader.read(10).unwrap(), b"f");
        assert_eq!(reader.read(10), Err(StreamError::Closed));
        assert!(reader.ready());
    }

    #[test]
    fn writers_at_offsets_and_appenders_share_the_file() {
        let fake = FakePlatform::new();
        fake.set_wall(1_000, 5);
        let mut platform = fake.clone();
        let inode = file(b"0123456789");
        let mut at = FileWriter::at(inode.clone(), 8);
        let mut append = FileWriter::append(inode.clone());
        assert_eq!(at.check_write().unwrap(), WRITE_PERMIT);
        at.write(&mut platform, b"ab").unwrap();
        at.write(&mut platform, b"cd").unwrap();
        append.write(&mut platform, b"Z").unwrap();
        append.flush(&mut platform).unwrap();
        let inode = inode.borrow();
        assert_eq!(inode.read(0, 100).unwrap().0, b"01234567abcdZ");
        assert_eq!(
            inode.mtime,
            Timestamp {
                seconds: 1_000,
                nanoseconds: 5
            }
        );
    }

    #[test]
    fn a_failed_write_closes_the_stream_with_a_filesystem_error() {
        let mut platform = FakePlatform::new();
        let mut writer = FileWriter::at(file(b""), MAX_FILE_SIZE);
        let Err(StreamError::LastOperationFailed(message)) = writer.write(&mut platform, b"x")
        else {
            panic!("writing past the size limit must fail");
        };
        assert_eq!(
            ErrorCode::from_stream_message(&message),
            Some(ErrorCode::FileTooLarge)
        );
        assert_eq!(writer.check_write(), Err(StreamError::Closed));
        assert_eq!(writer.write(&mut platform, b"x"), Err(StreamError::Closed));
        assert_eq!(writer.flush(&mut platform), Err(StreamError::Closed));
    }
}
