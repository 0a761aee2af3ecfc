// Acceptance a: the Vercel AI SDK's default OpenAI provider (`openai(model)`: the Responses API,
// `store` left at its default), a three-turn conversation with `generateText`, each turn sending
// the earlier messages (the previous `response.messages` appended).
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import { gateway, run } from './lib.mjs';

const PROMPTS = ['first: the sky is blue', 'second: grass is green', 'third: what colours so far?'];

run(async (fetch) => {
  const { base, key, model } = gateway();
  const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey: key, fetch });
  const messages = [];
  const answers = [];
  for (const prompt of PROMPTS) {
    messages.push({ role: 'user', content: prompt });
    const result = await generateText({ model: openai(model), messages });
    answers.push(result.text);
    messages.push(...result.response.messages);
  }
  return { prompts: PROMPTS, answers };
});
