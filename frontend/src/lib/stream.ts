// Incremental parsing of a streamed JSON array ("[{…},\n{…}]", what Envoy's transcoder
// sends for a server-streaming RPC), newline-delimited JSON, or a mix: every complete
// top-level object is emitted as soon as its closing brace arrives.

export class JsonObjectStream {
  private buf = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  /** Feeds a chunk of text; returns the objects completed by it. */
  push(chunk: string): unknown[] {
    this.buf += chunk;
    const out: unknown[] = [];
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') {
        if (this.depth > 0) this.inString = true;
      } else if (c === "{") {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === "}" && this.depth > 0) {
        this.depth--;
        if (this.depth === 0 && this.start >= 0) {
          out.push(JSON.parse(this.buf.slice(this.start, i + 1)));
          this.start = -1;
        }
      }
    }
    if (this.depth === 0) {
      // Nothing pending: drop what was consumed (separators, "[", "]").
      this.buf = "";
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.scanned = this.buf.length;
      this.start = 0;
    }
    return out;
  }
}

/** Reads a fetch Response body and calls `onObject` for each streamed JSON object. */
export async function readJsonStream(res: Response, onObject: (o: unknown) => void): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new JsonObjectStream();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const o of parser.push(decoder.decode(value, { stream: true }))) onObject(o);
  }
  for (const o of parser.push(decoder.decode())) onObject(o);
}
