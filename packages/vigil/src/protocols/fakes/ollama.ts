/**
 * A fake Ollama, from PROTOCOLS.md: `GET /` → 200 `Ollama is running`; `GET /api/tags` (models on disk);
 * `GET /api/ps` (models loaded in memory); `GET /api/version`; `POST /api/generate` and `POST /api/chat`,
 * which stream NDJSON unless `"stream": false` and load the model on first use (as Ollama does). A
 * mid-stream error arrives as an `{"error": …}` line while the status stays 200.
 */
import { type FakeServer, jsonBody, startFakeServer, withNonFinite } from './server.js';

/** A model on disk. */
export interface OllamaFakeModel {
  name: string;
  /** sha256 hex digest. */
  digest: string;
}

/** Switchable state of the Ollama fake. */
export interface OllamaFakeState {
  onDisk: OllamaFakeModel[];
  /** Names of the models loaded in memory. */
  loaded: string[];
  /** The generated text; streamed one word per line. */
  text: string;
  /** Streams only: after this many chunks an `{"error": message}` line ends the stream (status 200). */
  streamError?: { afterChunks: number; message: string };
  hang: boolean;
  /** Only `/api/generate` and `/api/chat` hang; `/` still says "Ollama is running" (ollama #1378). */
  hangGeneration?: boolean;
  /** Answers carry a bare NaN token (in `eval_duration`). */
  nan: boolean;
  /**
   * A thinking model's reasoning: unless the request sends `think: false` it thinks first (`think`
   * defaults to true for such models), each word a token of `options.num_predict`, and the text comes
   * back apart, in `thinking` (generate) or `message.thinking` (chat); a budget spent on thinking leaves
   * `response` empty with `done_reason: "length"`.
   */
  thinking?: string;
  /** A model without the thinking capability, on a release that refuses any `think` with a 400. */
  refuseThink?: boolean;
}

/** A running Ollama fake. */
export interface OllamaFake extends FakeServer {
  readonly state: OllamaFakeState;
}

const DIGEST = 'a6990ed6be412c6a217614b0ec8e9cd6800a743d5dd7e1d7fbe9df09e61d5615';

const canonical = (name: string) =>
  name.slice(name.lastIndexOf('/') + 1).includes(':') ? name : `${name}:latest`;

/**
 * Starts the fake with `llama3.2:1b` on disk, nothing loaded, answering "OK then".
 *
 * @example
 * const fake = await createOllamaFake();
 * fake.state.streamError = { afterChunks: 1, message: 'llama runner process has terminated' };
 */
export async function createOllamaFake(initial: Partial<OllamaFakeState> = {}): Promise<OllamaFake> {
  const state: OllamaFakeState = {
    onDisk: [{ name: 'llama3.2:1b', digest: DIGEST }],
    loaded: [],
    text: 'OK then',
    hang: false,
    nan: false,
    ...initial,
  };
  const details = { format: 'gguf', family: 'llama', parameter_size: '1.2B', quantization_level: 'Q8_0' };
  const tagEntry = (m: OllamaFakeModel) => ({
    name: m.name,
    model: m.name,
    modified_at: '2024-10-01T12:00:00Z',
    size: 1_321_098_329,
    digest: m.digest,
    details,
  });

  const server = await startFakeServer((req) => {
    if (state.hang) return { hang: true };
    if (req.method === 'GET' && req.path === '/') return { status: 200, text: 'Ollama is running' };
    if (req.method === 'GET' && req.path === '/api/version')
      return { status: 200, json: { version: '0.5.7' } };
    if (req.method === 'GET' && req.path === '/api/tags')
      return { status: 200, json: { models: state.onDisk.map(tagEntry) } };
    if (req.method === 'GET' && req.path === '/api/ps') {
      const loaded = state.onDisk.filter((m) => state.loaded.includes(m.name));
      return {
        status: 200,
        json: {
          models: loaded.map((m) => ({
            ...tagEntry(m),
            expires_at: '2099-01-01T00:00:00Z',
            size_vram: 1_000_000_000,
          })),
        },
      };
    }
    const isChat = req.path === '/api/chat';
    if (req.method === 'POST' && (isChat || req.path === '/api/generate')) {
      if (state.hangGeneration) return { hang: true };
      const body = jsonBody(req) as Record<string, unknown> | undefined;
      if (!body || typeof body !== 'object') return { status: 400, json: { error: 'invalid JSON body' } };
      const name = String(body.model);
      const model = state.onDisk.find((m) => canonical(m.name) === canonical(name));
      if (!model) return { status: 404, json: { error: `model "${name}" not found, try pulling it first` } };
      if (state.refuseThink && 'think' in body)
        return { status: 400, json: { error: `"${name}" does not support thinking` } };
      if (!state.loaded.includes(model.name)) state.loaded.push(model.name);
      const options = (body.options ?? {}) as { num_predict?: number };
      const budget = options.num_predict ?? Number.POSITIVE_INFINITY;
      const thinkingWords =
        state.thinking !== undefined && body.think !== false ? state.thinking.split(' ') : [];
      const thought = thinkingWords.slice(0, budget).join(' ');
      const spent = thinkingWords.length >= budget;
      const answerText = spent ? '' : state.text;
      // In a stream the thinking comes once, with the first chunk.
      const piece = (content: string, withThinking = true) => {
        const thinking = withThinking && thought !== '' ? { thinking: thought } : {};
        return isChat
          ? { message: { role: 'assistant', content, ...thinking } }
          : { response: content, ...thinking };
      };
      const head = { model: name, created_at: '2024-10-01T12:00:00Z' };
      const final = {
        ...head,
        ...piece('', false),
        done: true,
        done_reason: spent ? 'length' : 'stop',
        total_duration: 1_000_000,
        eval_count: state.text.split(/\s+/).length,
        eval_duration: state.nan ? Number.NaN : 900_000,
      };
      if (body.stream === false) {
        return {
          status: 200,
          text: withNonFinite({ ...final, ...piece(answerText) }),
          contentType: 'application/json',
        };
      }
      const words = answerText === '' ? [''] : answerText.split(/(?<=\s)/);
      const lines: string[] = [];
      for (const [i, word] of words.entries()) {
        if (state.streamError && i === state.streamError.afterChunks) {
          lines.push(JSON.stringify({ error: state.streamError.message }));
          break;
        }
        lines.push(JSON.stringify({ ...head, ...piece(word, i === 0), done: false }));
      }
      if (!state.streamError || state.streamError.afterChunks >= words.length)
        lines.push(withNonFinite(final));
      return { status: 200, text: `${lines.join('\n')}\n`, contentType: 'application/x-ndjson' };
    }
    return undefined;
  });
  return Object.assign(server, { state });
}
