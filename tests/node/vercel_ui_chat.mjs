// Acceptance c: `useChat`-style history, headless: UI messages go through
// `convertToModelMessages` into `streamText`, and the answer comes back as a UI message read
// from `toUIMessageStream()` (what `useChat` keeps), over two turns.
import { createOpenAI } from '@ai-sdk/openai';
import { convertToModelMessages, readUIMessageStream, streamText } from 'ai';
import { gateway, run } from './lib.mjs';

const PROMPTS = ['hello, my name is Ada', 'what is my name?'];

run(async (fetch) => {
  const { base, key, model } = gateway();
  const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey: key, fetch });
  const ui = [];
  const answers = [];
  for (const [i, prompt] of PROMPTS.entries()) {
    ui.push({ id: `user-${i}`, role: 'user', parts: [{ type: 'text', text: prompt }] });
    const errors = [];
    const result = streamText({
      model: openai(model),
      messages: await convertToModelMessages(ui),
      onError: ({ error }) => errors.push(error),
    });
    let reply;
    for await (const message of readUIMessageStream({ stream: result.toUIMessageStream({ onError: (e) => String(e) }) })) {
      reply = message;
    }
    if (errors.length) throw errors[0];
    if (!reply) throw new Error(`turn ${i + 1}: no assistant message`);
    ui.push(reply);
    answers.push(reply.parts.filter((p) => p.type === 'text').map((p) => p.text).join(''));
  }
  return { prompts: PROMPTS, answers, ui };
});
