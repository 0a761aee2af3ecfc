// Acceptance b: a `streamText` tool loop on a reasoning model with the default provider: a zod
// tool, `stopWhen: stepCountIs(5)`, the final text built from the tool's result.
import { createOpenAI } from '@ai-sdk/openai';
import { stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { gateway, run } from './lib.mjs';

run(async (fetch) => {
  const { base, key, model } = gateway();
  const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey: key, fetch });
  const executed = [];
  const result = streamText({
    model: openai(model),
    prompt: 'What is the weather in Paris? call get_weather {"city":"Paris"}',
    tools: {
      get_weather: tool({
        description: 'The weather in a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          executed.push(city);
          return { city, forecast: `sunny and 21 C in ${city}` };
        },
      }),
    },
    stopWhen: stepCountIs(5),
  });
  const errors = [];
  let text = '';
  let reasoning = '';
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'reasoning-delta') reasoning += part.text;
    else if (part.type === 'error') errors.push(part.error);
  }
  if (errors.length) throw errors[0];
  const steps = await result.steps;
  return {
    text,
    reasoning,
    executed,
    steps: steps.map((s) => ({ finishReason: s.finishReason, toolCalls: s.toolCalls.map((c) => c.toolName) })),
  };
});
