// The console of the page `pollscope serve` opens: the guest's stdout and stderr (and the
// lines typed into stdin), bounded so that a guest printing without end cannot grow the page
// without end. Only the newest CONSOLE_MAX_CHARS characters are kept, in at most
// CONSOLE_MAX_NODES elements (small chunks of one stream are appended to the element before
// them), and a note above says when older output was dropped.

/** Most characters of output the console keeps (the newest). */
export const CONSOLE_MAX_CHARS = 256 << 10;
/** Most elements it holds them in. */
export const CONSOLE_MAX_NODES = 2000;
/** A chunk is appended to the element before it (same stream) while that stays this short. */
const MERGE_CHARS = 16 << 10;

/**
 * A console writing into `element` (a <pre>), saying in `note` (hidden until then) how much
 * older output it dropped. `document` makes the elements; `limits` are for tests.
 */
export function createConsole(element, note, document, limits = {}) {
  const maxChars = limits.maxChars ?? CONSOLE_MAX_CHARS;
  const maxNodes = limits.maxNodes ?? CONSOLE_MAX_NODES;
  // Each stream decodes across chunks, so a character split between two writes stays whole.
  const decoders = new Map();
  let chars = 0;
  let dropped = 0;

  const trim = () => {
    while (element.firstChild && (chars > maxChars || element.childNodes.length > maxNodes)) {
      const first = element.firstChild;
      const text = first.textContent;
      const over = chars - maxChars;
      if (over > 0 && over < text.length && element.childNodes.length <= maxNodes) {
        // Keep the newest part of the oldest element.
        first.textContent = text.slice(over);
        chars -= over;
        dropped += over;
        break;
      }
      first.remove();
      chars -= text.length;
      dropped += text.length;
    }
    if (dropped > 0) {
      note.hidden = false;
      note.textContent =
        `Older output dropped: the console keeps the newest ${maxChars >> 10} KiB ` +
        `(${dropped} characters dropped so far).`;
    }
  };

  return {
    /** Appends text, styled as `className` (e.g. "stderr"; "" for stdout). */
    appendText(text, className = "") {
      if (text.length === 0) return;
      const last = element.lastChild;
      if (last && (last.className ?? "") === className && last.textContent.length + text.length <= MERGE_CHARS) {
        last.textContent += text;
      } else {
        const span = document.createElement("span");
        if (className) span.className = className;
        span.textContent = text;
        element.append(span);
      }
      chars += text.length;
      trim();
      element.scrollTop = element.scrollHeight;
    },
    /** Appends bytes of `stream` (a key such as "stdout"), decoded as UTF-8 across calls. */
    appendBytes(bytes, stream, className = "") {
      let decoder = decoders.get(stream);
      if (!decoder) decoders.set(stream, (decoder = new TextDecoder()));
      this.appendText(decoder.decode(bytes, { stream: true }), className);
    },
    /** Characters held now. */
    get chars() {
      return chars;
    },
    /** Characters dropped so far. */
    get dropped() {
      return dropped;
    },
  };
}
