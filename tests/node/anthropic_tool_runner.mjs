// Acceptance d: the Anthropic TypeScript SDK's `client.beta.messages.toolRunner` (threads on, as
// the SDK defaults) finishing a two-tool loop; the final answer comes from the tool results.
import Anthropic from '@anthropic-ai/sdk';
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import { z } from 'zod';
import { gateway, run } from './lib.mjs';

run(async (fetch) => {
  const { base, key, model } = gateway();
  const client = new Anthropic({ baseURL: base, apiKey: key, fetch, maxRetries: 0 });
  const executed = [];
  const city = z.object({ city: z.string() });
  const tools = [
    betaZodTool({
      name: 'get_weather',
      description: 'The weather in a city',
      inputSchema: city,
      run: async ({ city }) => {
        executed.push(`get_weather:${city}`);
        return `sunny and 21 C in ${city}`;
      },
    }),
    betaZodTool({
      name: 'get_time',
      description: 'The local time in a city',
      inputSchema: city,
      run: async ({ city }) => {
        executed.push(`get_time:${city}`);
        return `10:42 in ${city}`;
      },
    }),
  ];
  const runner = client.beta.messages.toolRunner({
    model,
    max_tokens: 256,
    max_iterations: 5,
    tools,
    messages: [
      {
        role: 'user',
        // one at a time: one tool per turn, so the loop runs twice on the thread, and the
        // final answer joins every result since this text (docs of simulator/tool_answers.py)
        content: 'Weather and time in Paris, one at a time: call get_weather {"city":"Paris"} and then call get_time {"city":"Paris"}',
      },
    ],
  });
  const turns = [];
  for await (const message of runner) {
    turns.push({ id: message.id, stop_reason: message.stop_reason, content: message.content.map((b) => b.type) });
  }
  const final = await runner.done();
  const text = final.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
  return { text, executed, turns };
});
