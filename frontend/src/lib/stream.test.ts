import { describe, expect, it } from "vitest";
import { JsonObjectStream, readJsonStream } from "./stream";

describe("JsonObjectStream", () => {
  it("emits each object of a streamed JSON array as soon as it is complete", () => {
    const p = new JsonObjectStream();
    expect(p.push('[{"heartbeat":{"sendTime":"2025-')).toEqual([]);
    expect(p.push('05-01T00:00:00Z"}}')).toEqual([{ heartbeat: { sendTime: "2025-05-01T00:00:00Z" } }]);
    expect(p.push(',\n{"expense":{"id":"e1"}}\n,{"insight"')).toEqual([{ expense: { id: "e1" } }]);
    expect(p.push(':{"title":"x"}}]')).toEqual([{ insight: { title: "x" } }]);
  });

  it("is not fooled by braces, quotes and escapes inside strings", () => {
    const p = new JsonObjectStream();
    const obj = { expense: { description: 'He said "}{" \\ and {left}', id: "e2" } };
    const text = `[${JSON.stringify(obj)}]`;
    const out: unknown[] = [];
    for (const ch of text) out.push(...p.push(ch)); // one character at a time
    expect(out).toEqual([obj]);
  });

  it("accepts newline-delimited JSON too", () => {
    const p = new JsonObjectStream();
    expect(p.push('{"a":1}\n{"b":2}\n')).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("reads a fetch Response body incrementally", async () => {
    const enc = new TextEncoder();
    const chunks = ['[{"a":', '1},', '{"b":"é', '"}]'];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const s of chunks) c.enqueue(enc.encode(s));
        c.close();
      },
    });
    const seen: unknown[] = [];
    await readJsonStream(new Response(body), (o) => seen.push(o));
    expect(seen).toEqual([{ a: 1 }, { b: "é" }]);
  });
});
