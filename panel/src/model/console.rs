//! The guest's output as the panel keeps it: the newest chunks up to a byte budget.

use pollscope_protocol::OutputStream;

use super::bounded::Bounded;

/// Chunks kept; older ones go first.
const MAX_CHUNKS: usize = 2_000;
/// Characters kept across chunks.
const MAX_CHARS: usize = 256 << 10;

/// One write, decoded (invalid UTF-8 shown as U+FFFD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Which stream.
    pub stream: OutputStream,
    /// The text.
    pub text: String,
}

/// Bounded console text.
#[derive(Debug, Clone)]
pub struct Console {
    chunks: Bounded<Chunk>,
    chars: usize,
    /// Bumped on every change, so the view re-renders only then.
    version: u64,
}

impl Default for Console {
    fn default() -> Console {
        Console {
            chunks: Bounded::new(MAX_CHUNKS),
            chars: 0,
            version: 0,
        }
    }
}

impl Console {
    /// Appends what the guest wrote.
    pub fn push(&mut self, stream: OutputStream, data: &[u8]) {
        self.push_text(stream, String::from_utf8_lossy(data).into_owned());
    }

    /// Appends text (the panel's own notes, e.g. a restart).
    pub fn push_text(&mut self, stream: OutputStream, text: String) {
        self.version += 1;
        if self.chunks.len() == MAX_CHUNKS {
            self.forget_oldest();
        }
        self.chars += text.len();
        self.chunks.push(Chunk { stream, text });
        while self.chars > MAX_CHARS && self.chunks.len() > 1 {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some(oldest) = self.chunks.pop_oldest() {
            self.chars -= oldest.text.len();
        }
    }

    /// Chunks, oldest first.
    pub fn chunks(&self) -> impl Iterator<Item = &Chunk> {
        self.chunks.iter()
    }

    /// Changes so far (for re-rendering).
    pub fn version(&self) -> u64 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_text_in_order_and_decodes_lossily() {
        let mut console = Console::default();
        console.push(OutputStream::Stdout, b"tick 1\n");
        console.push(OutputStream::Stderr, b"bad \xff\n");
        let texts: Vec<&str> = console.chunks().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["tick 1\n", "bad \u{fffd}\n"]);
        assert_eq!(console.version(), 2);
    }

    #[test]
    fn stays_within_its_budget() {
        let mut console = Console::default();
        let line = "x".repeat(1000);
        for _ in 0..1000 {
            console.push_text(OutputStream::Stdout, line.clone());
        }
        let total: usize = console.chunks().map(|c| c.text.len()).sum();
        assert!(total <= MAX_CHARS, "{total}");
        assert!(total > MAX_CHARS - 1000);
    }
}
